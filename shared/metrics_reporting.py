"""Metrics of the reporting worker: reports by kind and state and their build time, Celery
task counts by outcome and their runtime, and the length of the `reporting` queue.

Task counters are driven by Celery's signals in whichever process runs the task (the pool
children write to PROMETHEUS_MULTIPROC_DIR; the worker's main process serves the aggregate).
The reports and queue gauges are computed at scrape time by `ReportingCollector`, registered
by the worker's main process on the registry it exposes."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import redis
from celery import signals
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings
from shared.metrics import register_state_collector
from shared.reporting.models import Report, ReportKind, ReportState

log = logging.getLogger(__name__)

REPORT_BUILD_SECONDS = Histogram(
    "sakip_report_build_duration_seconds", "Time to build a report (gather, render, store)",
    ["kind"], buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0))
CELERY_TASKS = Counter("sakip_celery_tasks", "Celery tasks run, by task name and outcome",
                       ["task", "outcome"])
CELERY_TASK_SECONDS = Histogram(
    "sakip_celery_task_duration_seconds", "Runtime of a Celery task", ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 660.0))


def report_built(*, kind: str, seconds: float) -> None:
    REPORT_BUILD_SECONDS.labels(kind=kind).observe(seconds)


# -- Celery signals --------------------------------------------------------------------------

def _name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or sender or "unknown")


def _on_prerun(task: Any = None, **_: Any) -> None:
    if task is not None:
        task.request.sakip_started = time.perf_counter()


def _on_postrun(task: Any = None, **_: Any) -> None:
    started = getattr(task.request, "sakip_started", None) if task is not None else None
    if started is not None:
        CELERY_TASK_SECONDS.labels(task=_name(task)).observe(time.perf_counter() - started)


def _on_success(sender: Any = None, **_: Any) -> None:
    CELERY_TASKS.labels(task=_name(sender), outcome="succeeded").inc()


def _on_failure(sender: Any = None, **_: Any) -> None:
    CELERY_TASKS.labels(task=_name(sender), outcome="failed").inc()


def _on_retry(sender: Any = None, **_: Any) -> None:
    CELERY_TASKS.labels(task=_name(sender), outcome="retried").inc()


def connect_task_metrics() -> None:
    """Count every task by outcome and time it (idempotent: signals keep one receiver)."""
    signals.task_prerun.connect(_on_prerun, weak=False, dispatch_uid="sakip_metrics_prerun")
    signals.task_postrun.connect(_on_postrun, weak=False, dispatch_uid="sakip_metrics_postrun")
    signals.task_success.connect(_on_success, weak=False, dispatch_uid="sakip_metrics_success")
    signals.task_failure.connect(_on_failure, weak=False, dispatch_uid="sakip_metrics_failure")
    signals.task_retry.connect(_on_retry, weak=False, dispatch_uid="sakip_metrics_retry")


# -- scrape-time state -----------------------------------------------------------------------

class ReportingCollector(Collector):
    """Reports by kind and state (one grouped count) and the queue's length (LLEN)."""

    def __init__(self, session_factory: sessionmaker[Session], redis_client: redis.Redis, *,
                 queue: str) -> None:
        self.session_factory = session_factory
        self.redis = redis_client
        self.queue = queue

    def collect(self) -> Iterator[Metric]:
        yield from self._reports()
        try:
            length = int(self.redis.llen(self.queue))
        except redis.RedisError as exc:
            log.warning("queue length unavailable: %s", exc)
            return
        queue = GaugeMetricFamily("sakip_celery_queue_length",
                                  "Tasks waiting in the broker queue", labels=["queue"])
        queue.add_metric([self.queue], length)
        yield queue

    def _reports(self) -> Iterator[Metric]:
        try:
            with self.session_factory() as session:
                rows = session.execute(select(Report.kind, Report.state, func.count())
                                       .group_by(Report.kind, Report.state)).all()
        except SQLAlchemyError as exc:
            log.warning("report metrics unavailable: %s", exc)
            return
        counts = {(k.value, s.value): 0 for k in ReportKind for s in ReportState}
        counts.update({(kind, state): count for kind, state, count in rows})
        reports = GaugeMetricFamily("sakip_reports", "Reports by kind and state",
                                    labels=["kind", "state"])
        for (kind, state), count in sorted(counts.items()):
            reports.add_metric([kind, state], count)
        yield reports


def expose_reporting(session_factory: sessionmaker[Session], redis_client: redis.Redis, *,
                     queue: str) -> None:
    """Register the reports and queue gauges on this process's registry (the worker's)."""
    register_state_collector("reporting", ReportingCollector(session_factory, redis_client,
                                                             queue=queue))


def expose_worker_state(settings: Settings, *, queue: str) -> None:
    """The worker's main process: its own connections for the scrape (no pooled connection
    there for a pool child forked later to inherit)."""
    from sqlalchemy.pool import NullPool

    from shared.db import make_engine, make_session_factory
    from shared.events.connection import make_redis_client

    engine = make_engine(settings.effective_database_url, poolclass=NullPool)
    expose_reporting(make_session_factory(engine), make_redis_client(settings.redis_url),
                     queue=queue)
