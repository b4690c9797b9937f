"""The reporting Celery app, configured as DESIGN.md "Celery for reports" says: JSON only,
explicit task names, acks_late with prefetch 1, time limits below the broker's visibility
timeout, results kept in the database by the tasks themselves (no result backend)."""

from __future__ import annotations

import os
import threading
from typing import Any

from celery import Celery, signals

from shared.config import Settings, load_settings
from shared.logging import (
    configure_logging,
    current_correlation_id,
    enter_correlation,
    exit_correlation,
)
from shared.metrics import start_metrics_server
from shared.metrics_reporting import connect_task_metrics, expose_worker_state

VISIBILITY_TIMEOUT_SECONDS = 3600
SOFT_TIME_LIMIT_SECONDS = 600
HARD_TIME_LIMIT_SECONDS = 660


def make_celery(settings: Settings) -> Celery:
    app = Celery("sakip-reporting", broker=settings.redis_url, include=["services.reporting.tasks"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=SOFT_TIME_LIMIT_SECONDS,
        task_time_limit=HARD_TIME_LIMIT_SECONDS,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        broker_connection_retry_on_startup=True,
        task_default_queue="reporting",
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        task_send_sent_event=True,
    )
    app.conf.sakip_settings = settings
    return app


celery_app = make_celery(load_settings())


def producer(settings: Settings) -> Celery:
    """A Celery app that only sends tasks, to `settings`' broker (the API and the reaper send
    with the settings of their own process or app, which tests point at their own Redis); one
    per broker, kept for the process's life."""
    if settings.redis_url == celery_app.conf.sakip_settings.redis_url:
        return celery_app
    with _PRODUCERS_LOCK:
        if settings.redis_url not in _PRODUCERS:
            _PRODUCERS[settings.redis_url] = make_celery(settings)
        return _PRODUCERS[settings.redis_url]


_PRODUCERS: dict[str, Celery] = {}
_PRODUCERS_LOCK = threading.Lock()


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    settings: Settings = celery_app.conf.sakip_settings
    configure_logging("reporting-worker", level=settings.log_level, json_logs=settings.log_json)


connect_task_metrics()


@signals.worker_ready.connect
def _serve_metrics(**_: Any) -> None:
    # Opened once the worker consumes from the broker, so an open port means "ready".
    expose_worker_state(celery_app.conf.sakip_settings,
                        queue=celery_app.conf.task_default_queue)
    start_metrics_server(int(os.environ.get("METRICS_PORT", "0")))


@signals.worker_init.connect
def _use_the_clock(**_: Any) -> None:
    """The worker (and the pool children it forks) read the clock its settings name."""
    from shared import clock

    clock.use_settings(celery_app.conf.sakip_settings)


@signals.worker_ready.connect
def _start_reaper(**_: Any) -> None:
    """Every worker reaps expired report leases (claims by conditional UPDATE make concurrent
    reapers safe), a third of a lease apart: a killed build is requeued within ~1.3 leases."""
    from sqlalchemy.pool import NullPool

    from services.reporting.reaper import start_reaper
    from shared.clock import now
    from shared.db import make_engine, make_session_factory

    settings: Settings = celery_app.conf.sakip_settings
    # Runs in the worker's main process: no pooled connection may linger there for a pool
    # child forked later to inherit, so each pass opens its own.
    engine = make_engine(settings.effective_database_url, poolclass=NullPool)
    start_reaper(make_session_factory(engine), settings, clock=now,
                 interval_seconds=max(0.5, settings.report_lease_seconds / 3))


@signals.before_task_publish.connect
def _carry_correlation_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is not None and current_correlation_id():
        headers["correlation_id"] = current_correlation_id()


@signals.task_prerun.connect
def _bind_correlation_id(task: Any = None, **_: Any) -> None:
    if task is None:
        return
    cid = getattr(task.request, "correlation_id", None)
    _cid, task.request.sakip_correlation_token = enter_correlation(
        cid if isinstance(cid, str) else None
    )


@signals.task_postrun.connect
def _unbind_correlation_id(task: Any = None, **_: Any) -> None:
    token = getattr(task.request, "sakip_correlation_token", None) if task is not None else None
    if token is not None:
        exit_correlation(token)
