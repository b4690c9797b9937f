"""marshmallow schemas of intake's forms and API bodies, with messages in Bahasa Indonesia."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, fields, post_load, validate

REQUIRED = {"required": "Wajib diisi.", "null": "Wajib diisi."}
MIN_YEAR, MAX_YEAR = 2000, 2100


def text(max_length: int, *, required: bool = True, **kwargs: Any) -> fields.String:
    return fields.String(
        required=required,
        validate=validate.Length(min=1 if required else 0, max=max_length,
                                 error=f"Panjang teks 1 sampai {max_length} karakter."),
        error_messages={**REQUIRED, "invalid": "Harus berupa teks."},
        **kwargs,
    )


class StrictSchema(Schema):
    """Unknown fields are refused (422), never silently dropped."""

    class Meta:
        unknown = RAISE


@dataclass(frozen=True)
class UploadMetadata:
    title: str
    year: int
    notes: str | None
    document_type: str | None


class UploadMetadataSchema(StrictSchema):
    """What the uploader says about a soft copy (the file itself travels beside it)."""

    title = text(255)
    year = fields.Integer(
        required=True, strict=False,
        validate=validate.Range(min=MIN_YEAR, max=MAX_YEAR,
                                error=f"Tahun harus antara {MIN_YEAR} dan {MAX_YEAR}."),
        error_messages={**REQUIRED, "invalid": "Tahun harus berupa angka."},
    )
    notes = text(2000, required=False, load_default=None, allow_none=True)
    document_type = text(64, required=False, load_default=None)
    csrf_token = fields.String(load_only=True)  # the portal's form carries it; checked apart

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> UploadMetadata:
        data.pop("csrf_token", None)
        return UploadMetadata(**data)


def indonesian_errors(messages: Any) -> dict[str, list[str]]:
    """marshmallow's messages, with its English 'unknown field' replaced."""
    out: dict[str, list[str]] = {}
    for name, value in (messages or {}).items():
        texts = value if isinstance(value, list) else [str(value)]
        out[name] = ["Isian tidak dikenal." if t == "Unknown field." else t for t in texts]
    return out
