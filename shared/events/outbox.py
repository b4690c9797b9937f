"""The writing side of the transactional outbox: an event is a row added to the transaction of
the business change that caused it, so both commit or neither does. The relay publishes it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.clock import now
from shared.events.envelope import Event
from shared.events.models import OutboxEvent


def emit(session: Session, event: Event) -> OutboxEvent:
    """Add the event to the caller's transaction; the caller commits (or rolls back)."""
    row = OutboxEvent(**outbox_values(event))
    session.add(row)
    return row


def outbox_values(event: Event) -> dict[str, Any]:
    """The column values of the event's outbox row, for a caller inserting many events in one
    statement (`insert(OutboxEvent.__table__)`, in the transaction of the change itself)."""
    return {
        "event_id": event.id,
        "type": event.type,
        "schema_version": event.schema_version,
        "tenant_id": event.tenant_id,
        "occurred_at": event.occurred_at,
        "payload": event.payload,
        "correlation_id": event.correlation_id,
        "created_at": now(),
    }


def pending_count(session: Session) -> int:
    """Events committed but not yet published."""
    count = session.scalar(
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.sent_at.is_(None))
    )
    return int(count or 0)


def oldest_pending_age_seconds(session: Session) -> float:
    """How long the oldest unpublished event has waited (0.0 when none waits)."""
    oldest = session.scalar(
        select(func.min(OutboxEvent.created_at)).where(OutboxEvent.sent_at.is_(None))
    )
    if oldest is None:
        return 0.0
    return max(0.0, (now() - oldest).total_seconds())
