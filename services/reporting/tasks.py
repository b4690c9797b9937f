"""Reporting tasks. Report builds arrive with the reporting issue; `reporting.ping` lets
operators and the smoke test see a worker take a task off the broker and run it."""

from __future__ import annotations

from services.reporting.celery_app import celery_app


@celery_app.task(name="reporting.ping")
def ping() -> str:
    return "pong"
