"""The event bus: a transactional outbox relayed to a Redis stream, read by consumer groups that
apply each event once (inbox) and dead-letter poison events. See DESIGN.md, "Events"."""

from typing import TYPE_CHECKING, Any

from shared.events.connection import make_redis_client
from shared.events.consumer import Consumer, Handler
from shared.events.envelope import (
    EnvelopeSchema,
    Event,
    EventSchemaError,
    from_stream_fields,
    new_event,
    payload_schema,
    register,
    to_stream_fields,
    validate_payload,
)
from shared.events.models import InboxEntry, OutboxEvent
from shared.events.outbox import emit, oldest_pending_age_seconds, pending_count

if TYPE_CHECKING:
    from shared.events.relay import relay_once, run_relay


def __getattr__(name: str) -> Any:
    # Imported on first use: `python -m shared.events.relay` must not find the module already
    # imported by its package (runpy would warn and run a second copy).
    if name in {"relay_once", "run_relay"}:
        from shared.events import relay

        return getattr(relay, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Consumer",
    "EnvelopeSchema",
    "Event",
    "EventSchemaError",
    "Handler",
    "InboxEntry",
    "OutboxEvent",
    "emit",
    "from_stream_fields",
    "make_redis_client",
    "new_event",
    "oldest_pending_age_seconds",
    "payload_schema",
    "pending_count",
    "register",
    "relay_once",
    "run_relay",
    "to_stream_fields",
    "validate_payload",
]
