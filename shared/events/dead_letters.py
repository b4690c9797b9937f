"""The dead-letter stream (`<stream>:dead`, written by shared.events.consumer): listing its
entries and replaying them onto the main stream.

A replayed entry is the original envelope fields, added again to the main stream (it gets a new
stream id and every consumer group sees it once more) and removed from the dead-letter stream in
the same MULTI. Replaying is safe to repeat: a group that had already applied the event skips it
through its inbox (as long as the inbox row has not been pruned, see housekeeping.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

DEAD_FIELDS = ("dead_reason", "dead_deliveries", "dead_entry_id", "dead_group", "dead_at")


def dead_letter_stream(stream: str) -> str:
    """The consumers' default dead-letter stream of `stream`."""
    return f"{stream}:dead"


@dataclass(frozen=True)
class DeadLetter:
    entry_id: str  # in the dead-letter stream
    event_id: str
    event_type: str
    group: str
    reason: str
    deliveries: str
    dead_at: str
    fields: dict[str, str]  # every field, decoded

    @property
    def original_fields(self) -> dict[str, str]:
        return {k: v for k, v in self.fields.items() if k not in DEAD_FIELDS}


def list_dead_letters(client: redis.Redis, *, stream: str, count: int = 100) -> list[DeadLetter]:
    """The oldest `count` dead letters of `stream`."""
    entries: Any = client.xrange(dead_letter_stream(stream), count=count)
    return [_dead_letter(entry_id, fields) for entry_id, fields in entries]


def replay(client: redis.Redis, *, stream: str, entry_ids: list[str] | None = None) -> list[str]:
    """Move the given dead letters (None: all of them) back onto `stream`; return the entry
    ids replayed (ids not in the dead-letter stream are ignored)."""
    dead = dead_letter_stream(stream)
    if entry_ids is None:
        entries: Any = client.xrange(dead)
    else:
        entries = []
        for entry_id in entry_ids:
            found: Any = client.xrange(dead, entry_id, entry_id)
            entries.extend(found)
    replayed = []
    for entry_id, fields in entries:
        letter = _dead_letter(entry_id, fields)
        pipe = client.pipeline(transaction=True)
        original: dict[Any, Any] = dict(letter.original_fields)
        pipe.xadd(stream, original)
        pipe.xdel(dead, letter.entry_id)
        pipe.execute()
        replayed.append(letter.entry_id)
    return replayed


def _dead_letter(entry_id: bytes | str, raw: dict[Any, Any]) -> DeadLetter:
    fields = {_text(k): _text(v) for k, v in raw.items()}
    return DeadLetter(entry_id=_text(entry_id), event_id=fields.get("id", ""),
                      event_type=fields.get("type", ""), group=fields.get("dead_group", ""),
                      reason=fields.get("dead_reason", ""),
                      deliveries=fields.get("dead_deliveries", ""),
                      dead_at=fields.get("dead_at", ""), fields=fields)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
