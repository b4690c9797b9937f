"""The workflow service's app factory: the shared API app with the workflow API's blueprints,
all under /api/v1."""

from __future__ import annotations

from flask import Flask

from services.workflow import api, calendar_api, inbox_api
from shared.config import Settings
from shared.web.api_app import create_api_app

SERVICE = "workflow"
# Every blueprint of the API. Each is documented in /api/v1/openapi.json (services.workflow.openapi
# walks every blueprint mounted under /api/); a new module's blueprint is added here.
BLUEPRINTS = (api.bp, calendar_api.bp, inbox_api.bp)


def create_app(settings: Settings | None = None) -> Flask:
    return create_api_app(SERVICE, settings, BLUEPRINTS)
