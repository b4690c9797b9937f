"""The intake service's app factory: the staff portal and the documents API."""

from __future__ import annotations

from flask import Flask

from services.intake import (
    portal_cycles,  # noqa: F401 - its pages join the portal blueprint
    portal_reports,  # noqa: F401 - so do the step 6 pages
)
from services.intake.api import bp as api_bp
from services.intake.portal import bp as portal_bp
from shared.config import Settings
from shared.web.app import create_service_app

SERVICE = "intake"


def create_app(settings: Settings | None = None) -> Flask:
    app = create_service_app(SERVICE, settings)
    app.config["MAX_FORM_MEMORY_SIZE"] = 64 * 1024
    app.register_blueprint(portal_bp)
    app.register_blueprint(api_bp)
    return app
