"""Housekeeping of the event bus: what may be forgotten, and when.

- Sent outbox rows: the outbox is the record of what was published; once sent and older than the
  retention, a row only costs space (the stream and the consumers' effects hold the rest).
- Inbox rows: they make a redelivered event a no-op, so they must outlive every way an event can
  come back: the stream's own retention (trimmed below) and a dead-letter replay. Keep the inbox
  retention well above the stream's (see deploy/OPERATIONS.md).
- The stream: trimmed with XTRIM MINID to an id that is both older than the retention and older
  than the oldest entry any consumer group still needs (its oldest pending entry, or the first
  entry after its last delivered one) minus a margin. An entry not yet processed by every group
  is therefore never trimmed, however long a consumer has been down.
- The dead-letter stream is left alone: dead letters wait for an operator (`sakip events dlq`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from sqlalchemy import delete
from sqlalchemy.orm import Session

from shared.clock import now
from shared.events.models import InboxEntry, OutboxEvent


@dataclass(frozen=True)
class StreamTrim:
    stream: str
    min_id: str | None  # None: nothing could be trimmed
    trimmed: int
    remaining: int


def prune_outbox(session: Session, *, older_than: timedelta, at: datetime | None = None) -> int:
    """Delete outbox rows sent more than `older_than` ago; unsent rows are never touched."""
    cutoff = (at or now()) - older_than
    result: Any = session.execute(delete(OutboxEvent).where(OutboxEvent.sent_at.is_not(None),
                                                           OutboxEvent.sent_at < cutoff))
    return int(result.rowcount or 0)


def prune_inbox(session: Session, *, older_than: timedelta, at: datetime | None = None) -> int:
    """Delete inbox rows of events processed more than `older_than` ago."""
    cutoff = (at or now()) - older_than
    result: Any = session.execute(delete(InboxEntry).where(InboxEntry.processed_at < cutoff))
    return int(result.rowcount or 0)


def trim_stream(client: redis.Redis, *, stream: str, older_than: timedelta, margin: timedelta,
                at: datetime | None = None) -> StreamTrim:
    """Trim `stream` below the lower of (now - `older_than`) and (the oldest entry a consumer
    group still needs - `margin`); return what was done."""
    if not client.exists(stream):
        return StreamTrim(stream=stream, min_id=None, trimmed=0, remaining=0)
    limit_ms = int(((at or now()) - older_than).timestamp() * 1000)
    needed = oldest_needed_id(client, stream=stream)
    if needed is not None:
        limit_ms = min(limit_ms, needed[0] - int(margin.total_seconds() * 1000))
    if limit_ms <= 0:
        return StreamTrim(stream=stream, min_id=None, trimmed=0,
                          remaining=int(client.xlen(stream)))
    min_id = f"{limit_ms}-0"
    trimmed = int(client.xtrim(stream, minid=min_id, approximate=False))
    return StreamTrim(stream=stream, min_id=min_id, trimmed=trimmed,
                      remaining=int(client.xlen(stream)))


def oldest_needed_id(client: redis.Redis, *, stream: str) -> tuple[int, int] | None:
    """The lowest stream id some consumer group has not finished with (None: no group).

    A group needs its oldest pending (delivered, not acknowledged) entry and every entry after
    its last delivered id."""
    groups: Any = client.xinfo_groups(stream)
    needed: list[tuple[int, int]] = []
    for group in groups:
        name = group["name"]
        summary: Any = client.xpending(stream, name)
        if summary and int(summary["pending"]) > 0:
            needed.append(_parse_id(summary["min"]))
        last = _parse_id(group["last-delivered-id"])
        needed.append((last[0], last[1] + 1))
    return min(needed) if needed else None


def _parse_id(raw: bytes | str) -> tuple[int, int]:
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)
