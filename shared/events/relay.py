"""The outbox relay: publishes committed outbox rows to the Redis stream, oldest first, and marks
them sent. Run it with `python -m shared.events.relay`.

Delivery is at least once: rows are XADDed, then marked sent in the same database transaction.
If Redis is unreachable the transaction rolls back and the rows wait for the next pass. If the
commit fails after the XADD, the next pass publishes those rows again; consumers drop the
duplicates by event id (the inbox).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import now
from shared.config import Settings
from shared.db import make_engine, make_session_factory
from shared.events.connection import make_redis_client
from shared.events.envelope import Event, to_stream_fields
from shared.events.models import OutboxEvent
from shared.metrics_events import expose_event_pipeline, hide_event_pipeline
from shared.process import start_process

log = logging.getLogger("shared.events.relay")  # also when run as __main__

STREAM_MAXLEN = 1_000_000  # approximate trim: the stream is a transport, the outbox the record


def relay_once(
    session_factory: sessionmaker[Session],
    redis_client: redis.Redis,
    *,
    stream: str,
    batch: int = 100,
    maxlen: int = STREAM_MAXLEN,
) -> int:
    """Publish up to `batch` unsent outbox rows; return how many were published.

    Rows are locked with SKIP LOCKED (PostgreSQL), so relays running side by side take
    different rows. When Redis is unreachable this raises redis.ConnectionError or
    redis.TimeoutError (any redis.RedisError of the XADDs) after rolling back: every row
    stays unsent. It does not log; `run_relay` logs and backs off.
    """
    with session_factory() as session, session.begin():
        rows = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.sent_at.is_(None))
            .order_by(OutboxEvent.seq)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return 0
        pipe = redis_client.pipeline(transaction=True)
        for row in rows:
            fields: dict[Any, Any] = dict(to_stream_fields(_event_of(row)))
            pipe.xadd(stream, fields, maxlen=maxlen, approximate=True)
        pipe.execute()  # raises when Redis is away: the `with` rolls back, rows stay unsent
        sent_at = now()
        for row in rows:
            row.sent_at = sent_at
    log.debug("relayed %d events to %s", len(rows), stream)
    return len(rows)


def _event_of(row: OutboxEvent) -> Event:
    return Event(
        id=row.event_id,
        type=row.type,
        tenant_id=row.tenant_id,
        occurred_at=row.occurred_at,
        schema_version=row.schema_version,
        payload=row.payload,
        correlation_id=row.correlation_id,
    )


def run_relay(
    settings: Settings,
    *,
    stop: threading.Event,
    poll_interval: float = 0.2,
    batch: int = 100,
    max_backoff: float = 5.0,
) -> None:
    """Relay until `stop` is set; back off (doubling up to `max_backoff`) while Redis or the
    database is unreachable."""
    engine = make_engine(settings.effective_database_url)
    session_factory = make_session_factory(engine)
    client = make_redis_client(settings.redis_url)
    expose_event_pipeline(session_factory, client, stream=settings.events_stream)
    backoff = poll_interval
    log.info("relay started", extra={"stream": settings.events_stream})
    try:
        while not stop.is_set():
            try:
                sent = relay_once(session_factory, client, stream=settings.events_stream,
                                  batch=batch)
            except redis.RedisError as exc:
                log.warning("redis error (%s): outbox events wait; retrying in %.1f s",
                            exc, backoff)
            except SQLAlchemyError as exc:
                log.warning("database error (%s); retrying in %.1f s", exc, backoff)
            else:
                backoff = poll_interval
                if sent < batch:
                    stop.wait(poll_interval)
                continue
            stop.wait(backoff)
            backoff = min(max_backoff, max(backoff * 2, 0.1))
    finally:
        hide_event_pipeline()
        client.close()
        engine.dispose()
        log.info("relay stopped")


def main() -> None:
    """Run the relay from environment settings until SIGTERM/SIGINT."""
    settings, stop = start_process("relay")
    run_relay(settings, stop=stop, poll_interval=settings.relay_poll_ms / 1000)


if __name__ == "__main__":
    main()
