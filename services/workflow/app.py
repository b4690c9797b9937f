"""The workflow service's app factory: the shared service base plus the workflow API's
blueprints, all under /api/v1 and sharing one error plumbing (shared.web.api_http)."""

from __future__ import annotations

from flask import Flask, Response, request

from services.workflow import api, calendar_api, inbox_api
from shared.config import Settings
from shared.web.api_http import register_errors
from shared.web.app import create_service_app

SERVICE = "workflow"
# Every blueprint of the API. Each is documented in /api/v1/openapi.json (services.workflow.openapi
# walks every blueprint mounted under /api/); a new module's blueprint is added here.
BLUEPRINTS = (api.bp, calendar_api.bp, inbox_api.bp)


def create_app(settings: Settings | None = None) -> Flask:
    app = create_service_app(SERVICE, settings)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    register_errors(app)
    app.after_request(_not_cached)
    return app


def _not_cached(response: Response) -> Response:
    """API answers are per user: no cache keeps them."""
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
