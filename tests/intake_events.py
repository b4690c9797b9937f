"""Intake's events about one Bidang's package, built the way intake builds them but with the id
and the time of occurrence chosen by the test, and put on a Redis stream as the relay would: the
workflow consumer's tests decide what arrives, in which order and how often."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis

from shared.documents.events import (
    DOCUMENT_ACCEPTED,
    DOCUMENT_RETURNED,
    SUBMISSION_ACCEPTED,
    SUBMISSION_SUBMITTED,
    SUBMISSION_WITHDRAWN,
)
from shared.events import Event, to_stream_fields, validate_payload


def intake_event(type: str, *, tenant_id: uuid.UUID, at: datetime,
                 payload: dict[str, Any], event_id: uuid.UUID | None = None) -> Event:
    """An envelope of a registered event type (payload checked against its schema)."""
    return Event(id=event_id or uuid.uuid4(), type=type, tenant_id=tenant_id, occurred_at=at,
                 schema_version=1, payload=validate_payload(type, 1, payload),
                 correlation_id=None)


@dataclass(frozen=True)
class PackageEvents:
    """The events of one Bidang's package in one cycle. `tenant_id` is the tenant the events
    claim to come from (a different tenant than the cycle's makes a forged event)."""

    tenant_id: uuid.UUID
    cycle_id: uuid.UUID
    bidang_id: uuid.UUID
    submission_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def _ref(self) -> dict[str, Any]:
        return {"cycle_id": self.cycle_id, "bidang_id": self.bidang_id,
                "submission_id": self.submission_id}

    def item_ref(self, code: str) -> dict[str, Any]:
        # Stable per document type: the same item and version whatever the event.
        return {**self._ref(), "document_type": code,
                "item_id": uuid.uuid5(self.submission_id, f"item:{code}"),
                "version_id": uuid.uuid5(self.submission_id, f"version:{code}")}

    def _event(self, type: str, at: datetime, payload: dict[str, Any]) -> Event:
        return intake_event(type, tenant_id=self.tenant_id, at=at, payload=payload)

    def submitted(self, at: datetime, codes: Iterable[str]) -> Event:
        return self._event(SUBMISSION_SUBMITTED, at, {**self._ref(), "document_types": list(codes),
                                                      "submitted_at": at})

    def withdrawn(self, at: datetime) -> Event:
        return self._event(SUBMISSION_WITHDRAWN, at, self._ref())

    def returned(self, at: datetime, code: str, reason: str = "Tanda tangan belum ada.") -> Event:
        return self._event(DOCUMENT_RETURNED, at, {**self.item_ref(code), "reason": reason})

    def document_accepted(self, at: datetime, code: str) -> Event:
        return self._event(DOCUMENT_ACCEPTED, at, self.item_ref(code))

    def accepted(self, at: datetime) -> Event:
        return self._event(SUBMISSION_ACCEPTED, at, {**self._ref(), "accepted_at": at})


def publish(client: redis.Redis, stream: str, events: Iterable[Event]) -> None:
    """XADD each event's envelope, in the order given (the order the consumer reads them)."""
    for event in events:
        client.xadd(stream, to_stream_fields(event))  # type: ignore[arg-type]
