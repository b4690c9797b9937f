"""The reporting service's app factory: the shared API app with the reporting API's blueprints,
all under /api/v1. The report builds themselves run in Celery workers
(services.reporting.celery_app)."""

from __future__ import annotations

from flask import Flask

from services.reporting import api, evaluation_api, reports_api
from shared.config import Settings
from shared.web.api_app import create_api_app

SERVICE = "reporting"
# Every blueprint of the API. Each is documented in /api/v1/openapi.json (services.reporting.
# openapi walks every blueprint mounted under /api/); a new module's blueprint is added here.
BLUEPRINTS = (api.bp, evaluation_api.bp, reports_api.bp)


def create_app(settings: Settings | None = None) -> Flask:
    return create_api_app(SERVICE, settings, BLUEPRINTS)
