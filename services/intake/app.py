"""The intake service's app factory."""

from __future__ import annotations

from flask import Flask

from services.intake.portal import bp as portal_bp
from shared.config import Settings
from shared.web.app import create_service_app

SERVICE = "intake"


def create_app(settings: Settings | None = None) -> Flask:
    app = create_service_app(SERVICE, settings)
    app.register_blueprint(portal_bp)
    return app
