"""Metrics of the event pipeline: outbox rows waiting for the relay and the age of the oldest,
each consumer group's lag and pending entries on the stream, and dead letters.

The gauges are computed at scrape time by `EventPipelineCollector` (one indexed count over the
unsent outbox rows, XINFO GROUPS and XLEN), which the relay registers on the registry it
exposes; the dead letter counter is incremented by the consumer that dead-letters."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import redis
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import now
from shared.events.models import OutboxEvent
from shared.metrics import register_state_collector, unregister_state_collector

log = logging.getLogger(__name__)

COLLECTOR_NAME = "event_pipeline"
DEAD_LETTERS = Counter("sakip_dead_letters", "Stream entries dead-lettered, by consumer group",
                       ["group"])


def dead_lettered(*, group: str) -> None:
    DEAD_LETTERS.labels(group=group).inc()


class EventPipelineCollector(Collector):
    """The outbox and stream gauges, read when Prometheus scrapes. A part that cannot be read
    (database or Redis away) is left out of the scrape and logged; the rest is still served."""

    def __init__(self, session_factory: sessionmaker[Session], redis_client: redis.Redis, *,
                 stream: str, dead_letter_stream: str | None = None) -> None:
        self.session_factory = session_factory
        self.redis = redis_client
        self.stream = stream
        self.dead_letter_stream = dead_letter_stream or f"{stream}:dead"

    def collect(self) -> Iterator[Metric]:
        yield from self._outbox()
        yield from self._stream()

    def _outbox(self) -> Iterator[Metric]:
        try:
            with self.session_factory() as session:
                row = session.execute(select(func.count(), func.min(OutboxEvent.created_at))
                                      .where(OutboxEvent.sent_at.is_(None))).one()
        except SQLAlchemyError as exc:
            log.warning("outbox metrics unavailable: %s", exc)
            return
        count, oldest = row
        yield GaugeMetricFamily("sakip_outbox_pending_events",
                                "Outbox rows not yet relayed to the stream", value=count)
        age = max(0.0, (now() - oldest).total_seconds()) if oldest is not None else 0.0
        yield GaugeMetricFamily("sakip_outbox_oldest_pending_age_seconds",
                                "Age of the oldest outbox row not yet relayed (0: none)",
                                value=age)

    def _stream(self) -> Iterator[Metric]:
        try:
            groups: list[dict[Any, Any]] = (self.redis.xinfo_groups(self.stream)
                                            if self.redis.exists(self.stream) else [])
            dead = int(self.redis.xlen(self.dead_letter_stream))
        except redis.RedisError as exc:
            log.warning("stream metrics unavailable: %s", exc)
            return
        lag = GaugeMetricFamily("sakip_stream_consumer_lag_events",
                                "Stream entries not yet delivered to the consumer group",
                                labels=["group"])
        pending = GaugeMetricFamily("sakip_stream_pending_events",
                                    "Entries delivered to the group but not acknowledged",
                                    labels=["group"])
        for info in groups:
            name = _text(info.get("name"))
            # `lag` is None when Redis cannot tell (after deletions): count it as unknown (-1).
            value = info.get("lag")
            lag.add_metric([name], float(value) if value is not None else -1.0)
            pending.add_metric([name], float(info.get("pending") or 0))
        yield lag
        yield pending
        yield GaugeMetricFamily("sakip_dead_letter_stream_length",
                                "Entries in the dead letter stream (replay or drop them)",
                                value=dead)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def expose_event_pipeline(session_factory: sessionmaker[Session], redis_client: redis.Redis, *,
                          stream: str) -> None:
    """Register the outbox and stream gauges on this process's registry (the relay's)."""
    register_state_collector(COLLECTOR_NAME, EventPipelineCollector(
        session_factory, redis_client, stream=stream))


def hide_event_pipeline() -> None:
    unregister_state_collector(COLLECTOR_NAME)
