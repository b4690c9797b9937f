"""The marshmallow pieces every JSON API of the platform shares: Indonesian messages for required
and unknown fields, strict request schemas, instants in ISO 8601 with their UTC offset, and the
error body `{"error": {code, message, fields?, details?}}`."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

REQUIRED = {"required": "Wajib diisi.", "null": "Wajib diisi."}
UNKNOWN_FIELD = "Isian tidak dikenal."
# PostgreSQL text cannot hold NUL: refused as invalid input instead of failing in the database
NUL_MESSAGE = "Teks tidak boleh berisi karakter NUL (\\u0000)."
MIN_YEAR, MAX_YEAR = 2000, 2100  # a cycle's year, a holiday's, a recap's
YEAR_MESSAGE = f"Tahun harus antara {MIN_YEAR} dan {MAX_YEAR}."
UUID_MESSAGES: dict[str, Any] = {**REQUIRED, "invalid_uuid": "Harus berupa UUID yang valid."}


def year(*, required: bool) -> fields.Integer:
    """A year field (2000-2100), with Indonesian messages."""
    return fields.Integer(
        required=required, strict=False,
        validate=validate.Range(min=MIN_YEAR, max=MAX_YEAR, error=YEAR_MESSAGE),
        error_messages={**REQUIRED, "invalid": "Tahun harus berupa angka."})


def enum_of(values: Any) -> dict[str, Any]:
    """OpenAPI metadata listing an enum's values (for a field dumped as its string value)."""
    return {"enum": [v.value for v in values]}


def text(max_length: int, *, required: bool = True, **kwargs: Any) -> fields.String:
    return fields.String(
        required=required,
        validate=[validate.Length(min=1 if required else 0, max=max_length,
                                  error=f"Panjang teks 1 sampai {max_length} karakter."),
                  validate.ContainsNoneOf("\x00", error=NUL_MESSAGE)],
        error_messages={**REQUIRED, "invalid": "Harus berupa teks."},
        **kwargs,
    )


class StrictSchema(Schema):
    """Unknown fields are refused (422), never silently dropped."""

    class Meta:
        unknown = RAISE


class NoBodySchema(StrictSchema):
    """Actions without parameters: no body, or an empty JSON object."""


def indonesian_errors(messages: Any) -> dict[str, list[str]]:
    """marshmallow's messages, with its English 'unknown field' replaced (nested messages, e.g.
    of a dict's values, are flattened to their texts)."""
    out: dict[str, list[str]] = {}
    for name, value in (messages or {}).items():
        out[str(name)] = ["Isian tidak dikenal." if t == "Unknown field." else t
                          for t in _texts(value)]
    return out


def _texts(value: Any) -> list[str]:
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    return [str(value)]


class Instant(fields.DateTime):
    """A moment in time, written in ISO 8601 with its UTC offset (`2026-04-06T01:00:00+00:00`)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return str(value.astimezone(UTC).isoformat())


class ErrorDetailSchema(Schema):
    code = fields.Integer(required=True, metadata={"description": "the HTTP status"})
    message = fields.String(required=True, metadata={"description": "for the user, Indonesian"})
    field_errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                               attribute="fields", data_key="fields",
                               metadata={"description": "field name -> what is wrong with it"})
    details = fields.List(fields.String(),
                          metadata={"description": "e.g. the documents a package still lacks"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)
