"""A consumer of the event stream for one consumer group: at-least-once delivery made
exactly-once in effect by the inbox table, stuck entries reclaimed, poison entries dead-lettered.

Per entry: parse the envelope (unparseable: dead-letter at once); when it has been delivered more
than `max_deliveries` times, dead-letter it; otherwise, in one database transaction, record the
event id in the inbox for this group and run the handler (an id already in the inbox is skipped),
commit, then XACK. A failing handler rolls back and leaves the entry pending: after
`claim_idle_ms` some consumer of the group reclaims it with XAUTOCLAIM and tries again.
Dead letters go to `<stream>:dead` with the original fields plus `dead_*` fields saying why.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import redis
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import now
from shared.events.envelope import Event, EventSchemaError, from_stream_fields
from shared.events.models import InboxEntry
from shared.logging import correlation
from shared.metrics_events import dead_lettered

log = logging.getLogger(__name__)

Handler = Callable[[Session, Event], None]
StreamFields = dict[Any, Any]  # bytes -> bytes from a RESP2 client


class Consumer:
    """Reads `stream` as consumer `name` of `group` and applies each event's handler once."""

    def __init__(
        self,
        redis_client: redis.Redis,
        session_factory: sessionmaker[Session],
        *,
        stream: str,
        group: str,
        name: str,
        handlers: Mapping[str, Handler],
        max_deliveries: int = 5,
        dead_letter_stream: str | None = None,
        claim_idle_ms: int = 30_000,
    ) -> None:
        if max_deliveries < 1:
            raise ValueError("max_deliveries must be at least 1")
        self.redis = redis_client
        self.session_factory = session_factory
        self.stream = stream
        self.group = group
        self.name = name
        self.handlers = dict(handlers)
        self.max_deliveries = max_deliveries
        self.dead_letter_stream = dead_letter_stream or f"{stream}:dead"
        self.claim_idle_ms = claim_idle_ms
        self._claim_cursor = "0-0"
        self._group_ready = False
        try:
            self.ensure_group()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # Not fatal: run_once creates the group once Redis answers.
            log.warning("redis unreachable (%s); group %s will be created later", exc, group)

    def ensure_group(self) -> None:
        """Create the group (and the stream) if missing; the group starts at the beginning."""
        try:
            self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    # -- one pass -----------------------------------------------------------------------------

    def run_once(self, block_ms: int = 1000, count: int = 10) -> int:
        """Handle reclaimed entries, then new ones; return how many entries were looked at.

        Waits up to `block_ms` for new entries when none was reclaimed (0: do not wait); keep it
        below the Redis client's socket timeout. Redis errors propagate (see `run`).
        """
        if not self._group_ready:
            self.ensure_group()
        try:
            claimed = self._claim(count)
            fresh = self._read(count, block_ms=None if claimed or block_ms <= 0 else block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # The stream or group vanished (e.g. Redis restarted without persistence).
            log.warning("group %s missing on %s; creating it again", self.group, self.stream)
            self.ensure_group()
            return 0
        deliveries = self._delivery_counts([entry_id for entry_id, _ in claimed])
        for entry_id, fields in claimed:
            self._handle(entry_id, fields, deliveries.get(entry_id, 0))
        for entry_id, fields in fresh:
            self._handle(entry_id, fields, 1)  # ">" hands out entries never delivered before
        return len(claimed) + len(fresh)

    def _claim(self, count: int) -> list[tuple[bytes, StreamFields]]:
        reply: Any = self.redis.xautoclaim(self.stream, self.group, self.name,
                                           min_idle_time=self.claim_idle_ms,
                                           start_id=self._claim_cursor, count=count)
        cursor, entries = reply[0], reply[1]
        self._claim_cursor = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
        # Redis 6.2 returns (id, None) for entries trimmed away; Redis 7 drops them itself.
        trimmed = [entry_id for entry_id, fields in entries if fields is None and entry_id]
        if trimmed:
            self.redis.xack(self.stream, self.group, *trimmed)
        return [(entry_id, fields) for entry_id, fields in entries if fields is not None]

    def _read(self, count: int, *, block_ms: int | None) -> list[tuple[bytes, StreamFields]]:
        reply: Any = self.redis.xreadgroup(self.group, self.name, {self.stream: ">"},
                                           count=count, block=block_ms)
        # A RESP2 client (redis-py's default): [[stream, [(id, fields), ...]]].
        return [entry for _stream, entries in reply or [] for entry in entries]

    def _delivery_counts(self, entry_ids: list[bytes]) -> dict[bytes, int]:
        if not entry_ids:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for entry_id in entry_ids:
            pipe.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
        counts: dict[bytes, int] = {}
        replies: list[Any] = pipe.execute()
        for entry_id, pending in zip(entry_ids, replies, strict=True):
            if pending:
                counts[entry_id] = int(pending[0]["times_delivered"])
        return counts

    # -- one entry ----------------------------------------------------------------------------

    def _handle(self, entry_id: bytes, fields: StreamFields, deliveries: int) -> None:
        if deliveries == 0:
            return  # acked by another consumer between our claim and our look at it
        try:
            event = from_stream_fields(fields)
        except EventSchemaError as exc:
            log.error("unparseable entry %r on %s: %s", entry_id, self.stream, exc)
            self._dead_letter(entry_id, fields, f"unparseable: {exc}", deliveries)
            return
        with correlation(event.correlation_id):
            if deliveries > self.max_deliveries:
                log.error("event %s (%s) failed %d deliveries; dead-lettering it",
                          event.id, event.type, deliveries - 1)
                self._dead_letter(entry_id, fields, "max deliveries exceeded", deliveries)
                return
            handler = self.handlers.get(event.type)
            if handler is None:
                self.redis.xack(self.stream, self.group, entry_id)
                return
            try:
                applied = self._apply(handler, event)
            except Exception:
                log.exception("handler for %s failed on event %s (delivery %d of %d)",
                              event.type, event.id, deliveries, self.max_deliveries)
                return
            self.redis.xack(self.stream, self.group, entry_id)
            if not applied:
                log.info("event %s already applied by %s; acked", event.id, self.group)

    def _apply(self, handler: Handler, event: Event) -> bool:
        """Run the handler and record the inbox row in one transaction; False for a duplicate."""
        with self.session_factory() as session:
            try:
                with session.begin():
                    if session.get(InboxEntry, (self.group, event.id)) is not None:
                        return False
                    # Inserted first: a concurrent duplicate waits on this row's key, then fails.
                    session.add(InboxEntry(consumer=self.group, event_id=event.id,
                                           event_type=event.type, processed_at=now()))
                    session.flush()
                    handler(session, event)
            except IntegrityError:
                if self._in_inbox(event):
                    return False
                raise
        return True

    def _in_inbox(self, event: Event) -> bool:
        with self.session_factory() as session:
            return session.get(InboxEntry, (self.group, event.id)) is not None

    def _dead_letter(self, entry_id: bytes, fields: StreamFields, reason: str,
                     deliveries: int) -> None:
        dead: dict[Any, Any] = dict(fields)
        dead.update({
            "dead_reason": reason[:500],
            "dead_deliveries": str(deliveries),
            "dead_entry_id": entry_id,
            "dead_group": self.group,
            "dead_at": now().isoformat(),
        })
        pipe = self.redis.pipeline(transaction=True)
        pipe.xadd(self.dead_letter_stream, dead)
        pipe.xack(self.stream, self.group, entry_id)
        pipe.execute()
        dead_lettered(group=self.group)

    # -- the loop -----------------------------------------------------------------------------

    def run(self, stop: threading.Event, *, block_ms: int = 1000, count: int = 10,
            max_backoff: float = 5.0) -> None:
        """Call run_once until `stop` is set, backing off while Redis is unreachable."""
        backoff = 0.1
        while not stop.is_set():
            try:
                self.run_once(block_ms=block_ms, count=count)
            except redis.RedisError as exc:
                log.warning("redis error in consumer %s/%s (%s); retrying in %.1f s",
                            self.group, self.name, exc, backoff)
                stop.wait(backoff)
                backoff = min(max_backoff, backoff * 2)
            else:
                backoff = 0.1
