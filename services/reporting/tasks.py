"""Reporting tasks: thin, named explicitly, taking ids not objects. The work is in
services.reporting.builds (claim, lease, build, finish); the task only maps its outcome onto
Celery's retry with backoff. `reporting.ping` lets operators and the smoke test see a worker
take a task off the broker."""

from __future__ import annotations

import os
import uuid
from functools import cache

from celery import Task

from services.reporting.builds import MAX_ATTEMPTS, Builder, build
from services.reporting.celery_app import celery_app
from services.reporting.reaper import reap
from shared.clock import now
from shared.web.resources import Resources


def worker_resources() -> Resources:
    """This worker process's connections, opened on first use in each pool process (never
    inherited through a fork)."""
    return _resources_of(os.getpid())


@cache
def _resources_of(pid: int) -> Resources:
    return Resources(celery_app.conf.sakip_settings)


def worker_builder() -> Builder:
    res = worker_resources()
    return Builder(session_factory=res.session_factory, store=res.object_store,
                   lease_seconds=res.settings.report_lease_seconds, city=res.settings.city_name)


@celery_app.task(name="reporting.build_report", bind=True, max_retries=MAX_ATTEMPTS)
def build_report(self: Task, report_id: str) -> str:
    owner = f"{self.request.hostname}/{os.getpid()}/{self.request.id}"
    outcome = build(worker_builder(), uuid.UUID(report_id), owner=owner)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.state


@celery_app.task(name="reporting.reap")
def reap_leases() -> int:
    """One reaper pass on demand (every worker also runs one in the background)."""
    res = worker_resources()
    return len(reap(res.session_factory, res.settings, at=now()))


@celery_app.task(name="reporting.ping")
def ping() -> str:
    return "pong"
