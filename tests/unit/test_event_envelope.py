import dataclasses
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from marshmallow import Schema, fields

from shared.events import (
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
from shared.logging import correlation


class _Line(Schema):
    label = fields.String(required=True)
    weight = fields.Decimal(required=True, as_string=True)


@payload_schema("test.envelope", version=1)
class EnvelopePayload(Schema):
    name = fields.String(required=True)
    amount = fields.Integer(required=True, strict=True)
    due = fields.AwareDateTime(load_default=None)
    lines = fields.List(fields.Nested(_Line), load_default=list)


def _event(**changes: Any) -> Event:
    event = new_event("test.envelope", tenant_id=uuid.uuid4(),
                      payload={"name": "Renstra", "amount": 3})
    return dataclasses.replace(event, **changes)


def _as_redis_returns(stream_fields: dict[str, str]) -> dict[bytes, bytes]:
    return {k.encode(): v.encode() for k, v in stream_fields.items()}


def test_stream_fields_round_trip():
    with correlation("cid-env"):
        event = new_event(
            "test.envelope", tenant_id=uuid.uuid4(),
            payload={"name": "LKjIP ✓", "amount": 7, "due": "2026-12-01T09:00:00+07:00",
                     "lines": [{"label": "a", "weight": "0.25"}]},
        )
    stream_fields = to_stream_fields(event)
    assert all(isinstance(v, str) for v in stream_fields.values())
    assert from_stream_fields(stream_fields) == event
    assert from_stream_fields(_as_redis_returns(stream_fields)) == event
    assert event.correlation_id == "cid-env"
    assert event.occurred_at.tzinfo is not None
    assert event.payload["due"] == "2026-12-01T09:00:00+07:00"
    assert event.payload["lines"] == [{"label": "a", "weight": "0.25"}]


def test_round_trip_keeps_nones_and_ignores_extra_fields():
    event = _event(tenant_id=None, correlation_id=None)
    stream_fields = {**to_stream_fields(event), "dead_reason": "whatever"}
    back = from_stream_fields(stream_fields)
    assert back == event
    assert back.tenant_id is None
    assert back.correlation_id is None


def test_envelope_schema_dumps_json_and_loads_an_event():
    event = _event()
    doc = json.loads(json.dumps(EnvelopeSchema().dump(event)))
    assert doc["id"] == str(event.id)
    assert EnvelopeSchema().load(doc) == event


def test_new_event_fills_the_envelope():
    with correlation("cid-fill"):
        event = new_event("test.envelope", tenant_id=None, payload={"name": "x", "amount": 1})
    assert isinstance(event.id, uuid.UUID)
    assert event.schema_version == 1
    assert event.correlation_id == "cid-fill"
    assert event.payload == {"name": "x", "amount": 1, "due": None, "lines": []}


def test_validation_error_names_the_field():
    with pytest.raises(EventSchemaError, match="amount") as caught:
        validate_payload("test.envelope", 1, {"name": "x", "amount": "many"})
    assert set(caught.value.errors) == {"amount"}


def test_validation_error_names_missing_unknown_and_nested_fields():
    with pytest.raises(EventSchemaError) as caught:
        new_event("test.envelope", tenant_id=None,
                  payload={"amount": 1, "colour": "red", "lines": [{"label": "a"}]})
    assert set(caught.value.errors) == {"name", "colour", "lines.0.weight"}
    for name in ("name", "colour", "lines.0.weight"):
        assert name in str(caught.value)


def test_unregistered_type_or_version_is_refused():
    with pytest.raises(EventSchemaError, match="no registered payload schema"):
        new_event("test.nobody-registered-me", tenant_id=None, payload={})
    with pytest.raises(EventSchemaError, match="v2"):
        validate_payload("test.envelope", 2, {"name": "x", "amount": 1})


def test_a_type_version_keeps_its_first_schema():
    register("test.envelope", 1, EnvelopePayload)  # the same schema again is harmless
    with pytest.raises(ValueError, match="already has schema"):
        register("test.envelope", 1, _Line)


def test_naive_occurred_at_is_refused():
    with pytest.raises(EventSchemaError, match="occurred_at"):
        _event(occurred_at=datetime(2026, 1, 1))  # noqa: DTZ001 - the naive value under test


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "not-a-uuid"}, "id"),
        ({"tenant_id": "42"}, "tenant_id"),
        ({"occurred_at": "2026-01-01T00:00:00"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"schema_version": "one"}, "schema_version"),
        ({"schema_version": "0"}, "schema_version"),
        ({"payload": "[1, 2]"}, "payload"),
        ({"payload": "{not json"}, "payload"),
        ({"type": ""}, "type"),
    ],
)
def test_garbage_fields_raise_schema_error(change, field):
    stream_fields = {**to_stream_fields(_event()), **change}
    with pytest.raises(EventSchemaError) as caught:
        from_stream_fields(stream_fields)
    assert field in caught.value.errors


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {b"junk": b"\xff\xfe"},
        {b"id": b"\xff\xfe"},
        {"hello": "world"},
        {"id": str(uuid.uuid4()), "type": "t", "occurred_at": datetime.now(UTC).isoformat(),
         "schema_version": "1", "payload": json.dumps({})},  # tenant/correlation missing
    ],
)
def test_unparseable_entries_raise_schema_error(raw):
    with pytest.raises(EventSchemaError):
        from_stream_fields(raw)
