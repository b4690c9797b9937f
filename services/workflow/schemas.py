"""marshmallow schemas of the workflow API's bodies: requests are loaded strictly (unknown fields
are refused, messages in Bahasa Indonesia), answers are dumped from plain dicts built by the views.
The OpenAPI document is built from these same classes."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from shared.calendar import DurationUnit
from shared.cycles.models import CycleState, PackageProgress, StepState
from shared.identity.roles import Role
from shared.web.schemas import (
    REQUIRED,
    UUID_MESSAGES,
    Instant,
    StrictSchema,
    enum_of,
    text,
    year,
)

REASON_LENGTH = 2000
INSTANT_MESSAGES: dict[str, Any] = {**REQUIRED,
                    "invalid": "Tulis waktu dalam ISO 8601, mis. 2026-04-20T01:00:00+00:00.",
                    "invalid_awareness": "Sebutkan zona waktunya, mis. +00:00 atau +07:00."}




# -- requests --------------------------------------------------------------------------------------

class CycleQuerySchema(Schema):
    """The filters of the cycle listing (other query parameters are ignored)."""

    class Meta:
        unknown = EXCLUDE

    tenant_id = fields.UUID(error_messages=UUID_MESSAGES)
    year = year(required=False)


class TemplateQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    tenant_id = fields.UUID(load_default=None, error_messages=UUID_MESSAGES,
                            metadata={"description": "publish a variant for this tenant"})


class OpenCycleSchema(StrictSchema):
    tenant_id = fields.UUID(required=True, error_messages=UUID_MESSAGES)
    year = year(required=True)
    template_id = fields.UUID(required=True, error_messages=UUID_MESSAGES)


class ReasonSchema(StrictSchema):
    reason = text(REASON_LENGTH)


class CompleteStepSchema(StrictSchema):
    note = text(REASON_LENGTH, required=False, load_default=None, allow_none=True)


class DocumentListRequestSchema(StrictSchema):
    owed = fields.Dict(
        required=True,
        keys=fields.UUID(error_messages={"invalid_uuid": "Kunci harus berupa id Bidang (UUID)."}),
        values=fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                           error_messages={"invalid": "Harus berupa daftar kode dokumen."}),
        error_messages={**REQUIRED,
                        "invalid": "Harus berupa objek: id Bidang -> daftar kode dokumen."},
        metadata={"description": "Bidang id -> the document type codes it owes"})


class NoticeRequestSchema(StrictSchema):
    message = text(4000, required=False, load_default=None, allow_none=True)


class ExtensionRequestSchema(StrictSchema):
    bidang_id = fields.UUID(required=True, allow_none=True, error_messages=UUID_MESSAGES,
                            metadata={"description": "null: the whole cycle"})
    due_at = fields.AwareDateTime(required=True, format="iso", error_messages=INSTANT_MESSAGES)
    reason = text(REASON_LENGTH)


class TemplateFileSchema(Schema):
    """A template file sent as a multipart form (it may also be the raw YAML body)."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    tenant_ids = fields.List(fields.UUID(), metadata={
        "description": "templat seluruh kota: hanya untuk perangkat daerah ini (isian diulang "
                       "atau dipisah koma; juga dapat dikirim di query); kosong: semua"})


# -- answers ---------------------------------------------------------------------------------------

class TemplateSchema(Schema):
    id = fields.UUID(required=True)
    code = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    tenant_id = fields.UUID(allow_none=True, metadata={"description": "None: city-wide"})
    all_tenants = fields.Boolean(required=True, metadata={
        "description": "templat seluruh kota yang diterbitkan untuk semua perangkat daerah"})
    tenant_ids = fields.List(fields.UUID(), required=True, metadata={
        "description": "perangkat daerah tujuan bila tidak untuk semua (yang terlihat oleh "
                       "Anda); varian dinas: dinasnya"})
    published_at = Instant(required=True)


class TemplateDetailSchema(TemplateSchema):
    definition = fields.Dict(required=True, metadata={"description": "the template document"})


class TemplateListSchema(Schema):
    templates = fields.List(fields.Nested(TemplateSchema), required=True)


class TemplateRefSchema(Schema):
    id = fields.UUID(required=True)
    code = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)


class CycleSummarySchema(Schema):
    id = fields.UUID(required=True)
    tenant_id = fields.UUID(required=True)
    year = fields.Integer(required=True)
    state = fields.String(required=True, metadata=enum_of(CycleState))
    template = fields.Nested(TemplateRefSchema, required=True)
    opened_at = Instant(required=True)
    completed_at = Instant(allow_none=True)
    cancelled_at = Instant(allow_none=True)
    active_step = fields.Integer(allow_none=True, metadata={"description": "its number"})


class CycleListSchema(Schema):
    cycles = fields.List(fields.Nested(CycleSummarySchema), required=True)


class DurationSchema(Schema):
    amount = fields.Integer(required=True)
    unit = fields.String(required=True, metadata=enum_of(DurationUnit))


class StepSchema(Schema):
    id = fields.UUID(required=True)
    number = fields.Integer(required=True)
    activity = fields.String(required=True)
    actors = fields.List(fields.String(metadata=enum_of(Role)), required=True)
    inputs = fields.List(fields.String(), required=True)
    output = fields.String(required=True)
    duration = fields.Nested(DurationSchema, required=True)
    state = fields.String(required=True, metadata=enum_of(StepState))
    started_at = Instant(allow_none=True)
    due_at = Instant(allow_none=True)
    due_soon_at = Instant(allow_none=True)
    escalate_again_at = Instant(allow_none=True)
    overdue = fields.Boolean(required=True, metadata={"description": "active and past due_at"})
    overdue_since = Instant(allow_none=True)
    completed_at = Instant(allow_none=True)
    completed_by = fields.UUID(allow_none=True, metadata={"description": "a user id"})
    completion_note = fields.String(allow_none=True)
    missing = fields.List(fields.String(), required=True, metadata={
        "description": "active step only: what its guard still lacks, for the caller"})
    can_complete = fields.Boolean(required=True, metadata={
        "description": "active step only: the caller's role may complete it"})


class CycleDetailSchema(CycleSummarySchema):
    cancel_reason = fields.String(allow_none=True)
    steps = fields.List(fields.Nested(StepSchema), required=True)


class DocumentTypeSchema(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)


class BidangSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)


class DocumentListSchema(Schema):
    owed = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                       metadata={"description": "Bidang id -> document type codes"})
    document_types = fields.List(fields.Nested(DocumentTypeSchema), required=True)
    bidang = fields.List(fields.Nested(BidangSchema), required=True,
                         metadata={"description": "the open Bidang of the tenant"})


class NoticeSchema(Schema):
    id = fields.UUID(required=True)
    sent_at = Instant(required=True)


class PackageProgressSchema(Schema):
    bidang_id = fields.UUID(required=True)
    name = fields.String(required=True)
    state = fields.String(required=True, metadata=enum_of(PackageProgress))
    first_submitted_at = Instant(allow_none=True)
    accepted_at = Instant(allow_none=True)
    deadline = Instant(allow_none=True, metadata={
        "description": "the deadline in force for this Bidang, extensions included"})
    outstanding = fields.List(fields.String(), required=True,
                              metadata={"description": "document types not yet accepted"})


class ClosureSchema(Schema):
    id = fields.UUID(required=True)
    missing = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                          required=True, metadata={"description": "Bidang id -> codes missing"})
    reason = fields.String(required=True)
    closed_by = fields.UUID(allow_none=True)
    closed_at = Instant(required=True)


class CollectionSchema(Schema):
    deadline = Instant(allow_none=True, metadata={"description": "step 5's due time"})
    bidang = fields.List(fields.Nested(PackageProgressSchema), required=True)
    closures = fields.List(fields.Nested(ClosureSchema), required=True)


class ExtensionSchema(Schema):
    id = fields.UUID(required=True)
    bidang_id = fields.UUID(allow_none=True, metadata={"description": "None: the whole cycle"})
    due_at = Instant(required=True)
    reason = fields.String(required=True)
    granted_by = fields.UUID(allow_none=True)
    granted_at = Instant(required=True)


class ExtensionListSchema(Schema):
    extensions = fields.List(fields.Nested(ExtensionSchema), required=True)


class AuditEntrySchema(Schema):
    occurred_at = Instant(required=True)
    actor = fields.String(required=True, metadata={"description": "a username, or the system"})
    action = fields.String(required=True)
    target_type = fields.String(required=True)
    target_id = fields.String(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    reason = fields.String(allow_none=True)


class AuditLogSchema(Schema):
    entries = fields.List(fields.Nested(AuditEntrySchema), required=True,
                          metadata={"description": "oldest first"})
