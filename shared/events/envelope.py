"""The event envelope: what every event carries, how its payload is checked, and how it travels
as the flat fields of a Redis stream entry.

Every event has an id, a type, its tenant, when it happened, the version of its payload schema,
the payload itself and the correlation id of the work that caused it. Payload schemas are
marshmallow schemas registered per (type, version) by the package that owns the event type.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from shared.clock import now
from shared.logging import current_correlation_id

SchemaT = TypeVar("SchemaT", bound=type[Schema])

# The stream fields of an envelope; a stream entry may carry more (a dead letter's reason).
STREAM_FIELDS = (
    "id", "type", "tenant_id", "occurred_at", "schema_version", "payload", "correlation_id",
)


class EventSchemaError(ValueError):
    """An event or its payload does not match its schema; `errors` maps field paths to messages."""

    def __init__(self, message: str, errors: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.errors: dict[str, list[str]] = dict(errors or {})


@dataclass(frozen=True)
class Event:
    id: uuid.UUID
    type: str
    tenant_id: uuid.UUID | None
    occurred_at: datetime
    schema_version: int
    payload: dict[str, Any] = field(hash=False)
    correlation_id: str | None = None

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise EventSchemaError("occurred_at must be timezone-aware",
                                   {"occurred_at": ["naive datetime"]})


class EnvelopeSchema(Schema):
    """The envelope as a document; loading gives an `Event`. Unknown keys are ignored."""

    class Meta:
        unknown = EXCLUDE

    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Length(min=1, max=64))
    tenant_id = fields.UUID(required=True, allow_none=True)
    occurred_at = fields.AwareDateTime(required=True)
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1))
    payload = fields.Dict(keys=fields.String(), required=True)
    correlation_id = fields.String(required=True, allow_none=True,
                                   validate=validate.Length(max=64))

    @post_load
    def _make_event(self, data: dict[str, Any], **_kwargs: Any) -> Event:
        return Event(**data)


_PAYLOAD_SCHEMAS: dict[tuple[str, int], type[Schema]] = {}


def register(type: str, version: int, schema_cls: type[Schema]) -> None:
    """Declare the payload schema of one version of an event type (once per process)."""
    key = (type, version)
    known = _PAYLOAD_SCHEMAS.get(key)
    if known is not None and known is not schema_cls:
        raise ValueError(f"event {type!r} v{version} already has schema {known.__name__}")
    _PAYLOAD_SCHEMAS[key] = schema_cls


def payload_schema(type: str, version: int = 1) -> Callable[[SchemaT], SchemaT]:
    """Class decorator form of `register`."""

    def decorate(schema_cls: SchemaT) -> SchemaT:
        register(type, version, schema_cls)
        return schema_cls

    return decorate


@cache
def _schema(schema_cls: type[Schema]) -> Schema:
    """One instance per schema class: building a marshmallow schema costs more than using it,
    and an instance is reusable (load and dump keep no state)."""
    return schema_cls()


def validate_payload(type: str, version: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Check a payload against its registered schema and return it in JSON-ready form.

    Raises EventSchemaError when the (type, version) is not registered or a field is wrong;
    the message names every bad field (nested fields as dotted paths).
    """
    schema_cls = _PAYLOAD_SCHEMAS.get((type, version))
    if schema_cls is None:
        raise EventSchemaError(f"event type {type!r} v{version} has no registered payload schema")
    schema = _schema(schema_cls)
    try:
        loaded = schema.load(payload)
    except ValidationError as exc:
        errors = _flatten(exc.normalized_messages())
        detail = "; ".join(f"{path}: {' '.join(msgs)}" for path, msgs in sorted(errors.items()))
        raise EventSchemaError(f"invalid payload for {type!r} v{version}: {detail}",
                               errors) from exc
    dumped: dict[str, Any] = schema.dump(loaded)
    try:
        json.dumps(dumped)
    except (TypeError, ValueError) as exc:
        raise EventSchemaError(f"payload for {type!r} v{version} is not JSON: {exc}") from exc
    return dumped


def new_event(
    type: str,
    *,
    tenant_id: uuid.UUID | None,
    payload: Mapping[str, Any],
    version: int = 1,
) -> Event:
    """A fresh event of a registered type: new id, occurred now, under the current correlation."""
    return Event(
        id=uuid.uuid4(),
        type=type,
        tenant_id=tenant_id,
        occurred_at=now(),
        schema_version=version,
        payload=validate_payload(type, version, payload),
        correlation_id=current_correlation_id(),
    )


def to_stream_fields(event: Event) -> dict[str, str]:
    """The event as the flat string fields of a stream entry (None as "", payload as JSON)."""
    return {
        "id": str(event.id),
        "type": event.type,
        "tenant_id": "" if event.tenant_id is None else str(event.tenant_id),
        "occurred_at": event.occurred_at.isoformat(),
        "schema_version": str(event.schema_version),
        "payload": json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False),
        "correlation_id": event.correlation_id or "",
    }


def from_stream_fields(raw: Mapping[Any, Any]) -> Event:
    """Read an event back from a stream entry (bytes or str keys and values); raise
    EventSchemaError on anything malformed."""
    doc: dict[str, Any] = {}
    try:
        for key, value in raw.items():
            name = key.decode() if isinstance(key, bytes) else key
            if name in STREAM_FIELDS:
                doc[name] = value.decode() if isinstance(value, bytes) else value
    except (UnicodeDecodeError, AttributeError) as exc:
        raise EventSchemaError(f"stream entry is not text: {exc}") from exc
    for nullable in ("tenant_id", "correlation_id"):
        if doc.get(nullable) == "":
            doc[nullable] = None
    if "payload" in doc:
        try:
            doc["payload"] = json.loads(doc["payload"])
        except ValueError as exc:
            raise EventSchemaError(f"payload is not JSON: {exc}",
                                   {"payload": ["not JSON"]}) from exc
    try:
        event: Event = EnvelopeSchema().load(doc)
    except ValidationError as exc:
        errors = _flatten(exc.normalized_messages())
        detail = "; ".join(f"{path}: {' '.join(msgs)}" for path, msgs in sorted(errors.items()))
        raise EventSchemaError(f"invalid event envelope: {detail}", errors) from exc
    return event


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """{"a": {"0": {"b": ["x"]}}} -> {"a.0.b": ["x"]}."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten(value, path))
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": list(messages)}
    return {prefix or "_schema": [str(messages)]}
