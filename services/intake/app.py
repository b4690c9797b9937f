"""The intake service's app factory: the staff portal and the documents API."""

from __future__ import annotations

from flask import Flask

from services.intake import (
    portal_account,  # noqa: F401 - /akun, /aktivasi and the forced password change
    portal_calendar,  # noqa: F401 - the calendar pages of the city and of a dinas
    portal_cycles,  # noqa: F401 - its pages join the portal blueprint
    portal_import,  # noqa: F401 - /admin/dinas/<id>/impor: the bulk import of people
    portal_people,  # noqa: F401 - /admin/dinas/<id>/pengguna, /bidang, /plt
    portal_platform,  # noqa: F401 - the city administration and the audit log pages
    portal_reports,  # noqa: F401 - so do the step 6 pages
)
from services.intake.account_api import bp as account_api_bp
from services.intake.api import bp as api_bp
from services.intake.people_import_api import bp as people_import_bp
from services.intake.platform_admin_api import bp as platform_admin_bp
from services.intake.portal import bp as portal_bp
from services.intake.tenant_admin_api import bp as tenant_admin_bp
from shared.config import Settings
from shared.web.api_app import not_cached
from shared.web.app import create_service_app

SERVICE = "intake"


def create_app(settings: Settings | None = None) -> Flask:
    app = create_service_app(SERVICE, settings)
    app.config["MAX_FORM_MEMORY_SIZE"] = 64 * 1024
    app.register_blueprint(portal_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(account_api_bp)
    app.register_blueprint(platform_admin_bp)
    app.register_blueprint(people_import_bp)
    app.register_blueprint(tenant_admin_bp)
    app.after_request(not_cached)  # every /api/ answer, as in the other services
    return app
