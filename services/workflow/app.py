"""The workflow service's app factory."""

from __future__ import annotations

from flask import Flask

from shared.config import Settings
from shared.web.app import create_service_app

SERVICE = "workflow"


def create_app(settings: Settings | None = None) -> Flask:
    return create_service_app(SERVICE, settings)
