"""marshmallow schemas of intake's forms and API bodies, with messages in Bahasa Indonesia."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from services.intake.packages import Decision
from shared.web.schemas import (
    REQUIRED,
    ErrorDetailSchema,
    ErrorSchema,
    Instant,
    NoBodySchema,
    StrictSchema,
    indonesian_errors,
    text,
)

__all__ = ["REQUIRED", "ErrorDetailSchema", "ErrorSchema", "Instant", "NoBodySchema",
           "StrictSchema", "indonesian_errors", "text"]  # shared ones, still importable from here

MIN_YEAR, MAX_YEAR = 2000, 2100


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


# -- the REST API's bodies ----------------------------------------------------------------------
# Requests are loaded with StrictSchema (unknown fields are refused); responses are dumped from the
# domain's rows and summaries. openapi.py documents the API from these same classes.

class RoleGrantSchema(Schema):
    role = fields.String(required=True)
    label = fields.String(required=True)
    tenant_id = fields.UUID(allow_none=True, metadata={"description": "None for city roles"})


class MeSchema(Schema):
    id = fields.UUID(required=True)
    username = fields.String(required=True)
    full_name = fields.String(required=True)
    tenant_id = fields.UUID(allow_none=True)
    bidang_id = fields.UUID(allow_none=True)
    roles = fields.List(fields.Nested(RoleGrantSchema), required=True)


class CycleStepSchema(Schema):
    number = fields.Integer(required=True)
    activity = fields.String(required=True)
    state = fields.String(required=True, metadata={"enum": ["pending", "active", "completed"]})
    started_at = Instant(allow_none=True)
    due_at = Instant(allow_none=True)
    completed_at = Instant(allow_none=True)


class CycleSchema(Schema):
    id = fields.UUID(required=True)
    tenant_id = fields.UUID(required=True)
    tenant_name = fields.String(required=True)
    year = fields.Integer(required=True)
    template = fields.String(required=True, metadata={"description": "the SOP template's name"})
    state = fields.String(required=True,
                          metadata={"enum": ["active", "completed", "cancelled"]})
    opened_at = Instant(required=True)
    completed_at = Instant(allow_none=True)


class CycleDetailSchema(CycleSchema):
    steps = fields.List(fields.Nested(CycleStepSchema), required=True)


class CycleListSchema(Schema):
    cycles = fields.List(fields.Nested(CycleSchema), required=True)


class VersionSchema(Schema):
    id = fields.UUID(required=True)
    item_id = fields.UUID(required=True)
    number = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True, metadata={"description": "the sniffed type"})
    size_bytes = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "pdf, docx, xlsx, ..."})
    title = fields.String(required=True)
    year = fields.Integer(required=True)
    notes = fields.String(allow_none=True)
    uploaded_at = Instant(required=True)
    first_submitted_at = Instant(allow_none=True)


ITEM_STATES = ["missing", "uploaded", "submitted", "returned", "accepted"]
PACKAGE_STATES = ["draft", "submitted", "returned", "accepted"]


class ItemSchema(Schema):
    id = fields.UUID(required=True)
    document_type = fields.String(required=True)
    label = fields.String(required=True)
    state = fields.String(required=True, metadata={"enum": ITEM_STATES})
    state_label = fields.String(required=True)
    return_reason = fields.String(allow_none=True)


class ItemDetailSchema(ItemSchema):
    versions = fields.List(fields.Nested(VersionSchema), required=True,
                           metadata={"description": "newest first"})


def _seconds_left(summary: Any) -> int | None:
    left = summary.working_time_left
    return None if left is None else int(left.total_seconds())


class PackageSchema(Schema):
    id = fields.UUID(required=True)
    tenant_id = fields.UUID(required=True)
    tenant_name = fields.String(required=True)
    cycle_id = fields.UUID(required=True)
    year = fields.Integer(required=True)
    bidang_id = fields.UUID(required=True)
    bidang_name = fields.String(required=True)
    state = fields.String(required=True, metadata={"enum": PACKAGE_STATES})
    state_label = fields.String(required=True)
    complete = fields.Boolean(required=True,
                              metadata={"description": "every item uploaded or further"})
    submitted_at = Instant(allow_none=True)
    deadline = Instant(allow_none=True,
                       metadata={"description": "the deadline in force for this Bidang"})
    working_time_left_seconds = fields.Function(
        _seconds_left, allow_none=True,
        metadata={"type": "integer", "description": "office time until the deadline"})
    items = fields.List(fields.Nested(ItemSchema), required=True)


class PackageDetailSchema(PackageSchema):
    items = fields.List(fields.Nested(ItemDetailSchema), required=True)


class PackageListSchema(Schema):
    packages = fields.List(fields.Nested(PackageSchema), required=True)


class DownloadLinkSchema(Schema):
    url = fields.String(required=True, metadata={"description": "a presigned GET"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds"})


@dataclass(frozen=True)
class ReviewRequest:
    decision: Decision
    reason: str | None


class ReviewSchema(StrictSchema):
    decision = fields.Enum(Decision, by_value=True, required=True, metadata={"type": "string"},
                           error_messages={**REQUIRED,
                                           "unknown": "Pilih salah satu: accept atau return."})
    reason = text(2000, required=False, load_default=None, allow_none=True,
                  metadata={"description": "required when returning"})

    @validates_schema
    def _reason_for_return(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("decision") is Decision.RETURN and not (data.get("reason") or "").strip():
            raise ValidationError("Alasan pengembalian wajib diisi.", field_name="reason")

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ReviewRequest:
        return ReviewRequest(**data)


class UploadFormSchema(UploadMetadataSchema):
    """The upload form as the API documents it: the metadata, then the file (last)."""

    class Meta:
        exclude = ("csrf_token",)

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


# -- the cycle's own documents (SK of the evaluation team, evaluation guideline) -----------------

CYCLE_DOCUMENT_KINDS = ["SK_TIM_EVALUASI", "PEDOMAN_EVALUASI"]


class CycleDocumentSchema(Schema):
    id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)
    kind = fields.String(required=True, metadata={"enum": CYCLE_DOCUMENT_KINDS})
    number = fields.Integer(required=True, metadata={"description": "version, 1 = the first"})
    filename = fields.String(required=True)
    content_type = fields.String(required=True, metadata={"description": "the sniffed type"})
    size_bytes = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    uploaded_by = fields.UUID(required=True)
    uploaded_at = Instant(required=True)


class CycleDocumentListSchema(Schema):
    documents = fields.List(fields.Nested(CycleDocumentSchema), required=True,
                            metadata={"description": "every version, by kind, newest first"})


class CycleDocumentFormSchema(Schema):
    """The cycle document upload as the API documents it: one file (PDF, DOCX or ODT)."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
