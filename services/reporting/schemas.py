"""marshmallow schemas of the reporting API's bodies: requests are loaded strictly (unknown fields
refused, messages in Bahasa Indonesia; a change loads only the keys sent, so "absent" and "null"
differ), answers are dumped from the plain dicts of `presenters.py`. The OpenAPI document is built
from these same classes. Scores travel as decimal strings ("87.50"), never floats."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from shared.reporting.models import (
    EvaluationState,
    ReportDecision,
    ReportKind,
    ReportState,
)
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
NOTE_LENGTH = 4000
FINDINGS_LENGTH = 20000
MAX_EVIDENCE = 50
TEXT_MESSAGES: dict[str, Any] = {"invalid": "Harus berupa teks."}




def _optional_text(max_length: int, description: str) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(
        max=max_length, error=f"Panjang teks paling banyak {max_length} karakter."),
        error_messages=TEXT_MESSAGES, metadata={"description": description})


def _decimal(description: str = "") -> fields.Decimal:
    return fields.Decimal(as_string=True, places=2, required=True,
                          metadata={"type": "string", "example": "87.50",
                                    "description": description})


# -- requests --------------------------------------------------------------------------------------

class AnswerChangeSchema(StrictSchema):
    """One criterion's change: only the keys sent are changed."""

    answer = fields.String(allow_none=True, validate=validate.Length(
        min=1, max=8, error="Jawaban 1 sampai 8 karakter."), error_messages=TEXT_MESSAGES,
        metadata={"description": "a value of the criterion's scale (Y/T, A-E); null clears it"})
    note = _optional_text(NOTE_LENGTH, "the team's note on this criterion; null clears it")
    evidence = fields.List(
        fields.UUID(error_messages=UUID_MESSAGES), allow_none=True,
        validate=validate.Length(max=MAX_EVIDENCE,
                                 error=f"Paling banyak {MAX_EVIDENCE} bukti per kriteria."),
        error_messages={"invalid": "Harus berupa daftar id versi dokumen."},
        metadata={"description": "ids of accepted document versions of the cycle (replaces the "
                                 "list)"})


class EvaluationChangeSchema(StrictSchema):
    """A change of the draft LKE (PUT) or the change to preview (POST .../preview)."""

    rubric_id = fields.UUID(error_messages=UUID_MESSAGES, metadata={
        "description": "the rubric version (default: the latest permenpanrb-12-2015); fixed "
                       "once answers exist"})
    answers = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=32,
                                                    error="Kode kriteria 1 sampai 32 karakter.")),
        values=fields.Nested(AnswerChangeSchema),
        error_messages={"invalid": "Harus berupa objek: kode kriteria -> jawaban."},
        metadata={"description": "criterion code -> {answer?, note?, evidence?}"})
    findings = _optional_text(FINDINGS_LENGTH, "the team's findings")
    recommendations = _optional_text(FINDINGS_LENGTH, "the team's recommendations")


class ReasonSchema(StrictSchema):
    reason = text(REASON_LENGTH)


class RecapRequestSchema(StrictSchema):
    year = year(required=True)


class RecapQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    year = year(required=False)


class RubricImportSchema(Schema):
    """The LKE workbook and what the file itself does not say (a multipart form)."""

    class Meta:
        unknown = EXCLUDE

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    code = text(64, metadata={"example": "permenpanrb-88-2021"})
    version = fields.Integer(required=True, strict=False, validate=validate.Range(
        min=1, max=10000, error="Versi harus bilangan bulat positif."),
        error_messages={**REQUIRED, "invalid": "Versi harus berupa angka."})
    name = text(255)
    regulation = text(1000)
    source = text(2000)
    tenant_ids = fields.List(fields.UUID(), load_default=None, metadata={
        "description": "hanya untuk perangkat daerah ini (isian diulang atau dipisah koma); "
                       "kosong: semua"})


# -- answers ---------------------------------------------------------------------------------------

class RubricSummarySchema(Schema):
    id = fields.UUID(required=True)
    code = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(required=True)
    regulation = fields.String(required=True)
    all_tenants = fields.Boolean(metadata={
        "description": "diterbitkan untuk semua perangkat daerah (daftar dan impor rubrik)"})
    tenant_ids = fields.List(fields.UUID(), metadata={
        "description": "perangkat daerah tujuan bila tidak untuk semua (yang terlihat oleh "
                       "Anda)"})


class RubricDetailSchema(RubricSummarySchema):
    source = fields.String(required=True)
    published_at = Instant(required=True)
    definition = fields.Dict(required=True, metadata={
        "description": "the rubric document: scales, grades, components with their "
                       "sub-components and criteria, consistency rules"})


class AnswerSchema(Schema):
    answer = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    evidence = fields.List(fields.String(), required=True,
                           metadata={"description": "document version ids"})


class SubScoreSchema(Schema):
    code = fields.String(required=True)
    group = fields.String(allow_none=True)
    name = fields.String(required=True)
    weight = _decimal()
    score = _decimal()
    answered = fields.Integer(required=True)
    criteria = fields.Integer(required=True)


class ComponentScoreSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    weight = _decimal()
    score = _decimal()
    parts = fields.List(fields.Nested(SubScoreSchema), required=True)


class ScoreSchema(Schema):
    total = _decimal("rounded half-up to 2 places, then graded")
    grade = fields.String(required=True, metadata={"example": "BB"})
    grade_label = fields.String(required=True, metadata={"example": "Sangat Baik"})
    components = fields.List(fields.Nested(ComponentScoreSchema), required=True)
    answered = fields.Integer(required=True)
    criteria = fields.Integer(required=True)
    complete = fields.Boolean(required=True, metadata={"description": "every criterion answered"})


class ProblemSchema(Schema):
    criterion = fields.String(allow_none=True)
    message = fields.String(required=True)


class EvaluationSchema(Schema):
    id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)
    tenant_id = fields.UUID(required=True)
    rubric = fields.Nested(RubricDetailSchema, required=True)
    answers = fields.Dict(keys=fields.String(), values=fields.Nested(AnswerSchema),
                          required=True, metadata={"description": "criterion code -> answer"})
    findings = fields.String(allow_none=True)
    recommendations = fields.String(allow_none=True)
    state = fields.String(required=True, metadata=enum_of(EvaluationState))
    revision = fields.Integer(required=True, metadata={
        "description": "bumped by every saved change, finalisation and reopening"})
    score = fields.Nested(ScoreSchema, required=True)
    problems = fields.List(fields.Nested(ProblemSchema), required=True, metadata={
        "description": "broken consistency rules (saved in a draft, refused at finalisation)"})
    unanswered = fields.List(fields.String(), required=True,
                             metadata={"description": "criterion codes not answered yet"})
    updated_at = Instant(required=True)
    finalised_at = Instant(allow_none=True)


class PreviewSchema(Schema):
    score = fields.Nested(ScoreSchema, required=True)
    problems = fields.List(fields.Nested(ProblemSchema), required=True)
    unanswered = fields.List(fields.String(), required=True)


class EvidenceSchema(Schema):
    version_id = fields.UUID(required=True)
    bidang = fields.String(required=True)
    document_type = fields.String(required=True, metadata={"description": "its label"})
    title = fields.String(required=True)
    filename = fields.String(required=True)
    sha256 = fields.String(required=True)


class FileSchema(Schema):
    size = fields.Integer(required=True, metadata={"description": "bytes"})
    sha256 = fields.String(required=True)


class FilesSchema(Schema):
    pdf = fields.Nested(FileSchema, required=True)
    xlsx = fields.Nested(FileSchema, required=True)


class ReceiptSchema(Schema):
    id = fields.UUID(required=True)
    role = fields.String(required=True, metadata={"enum": ["bagian_organisasi", "inspektur"]})
    user = fields.String(required=True, metadata={"description": "the user's full name"})
    user_id = fields.UUID(required=True)
    acknowledged_at = Instant(required=True)


class ReportSchema(Schema):
    id = fields.UUID(required=True)
    kind = fields.String(required=True, metadata=enum_of(ReportKind))
    cycle_id = fields.UUID(allow_none=True, metadata={"description": "None: a city recap"})
    tenant_id = fields.UUID(allow_none=True, metadata={"description": "None: a city recap"})
    year = fields.Integer(required=True)
    evaluation_revision = fields.Integer(allow_none=True, metadata={
        "description": "the LKE revision the report was requested at"})
    state = fields.String(required=True, metadata=enum_of(ReportState))
    progress = fields.Integer(required=True, metadata={"description": "percent"})
    progress_label = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    requested_at = Instant(required=True)
    finished_at = Instant(allow_none=True)
    files = fields.Nested(FilesSchema, allow_none=True, metadata={
        "description": "None until the report is ready"})
    decision = fields.String(allow_none=True, metadata=enum_of(ReportDecision))
    decision_reason = fields.String(allow_none=True)
    decided_at = Instant(allow_none=True)
    archived = fields.Boolean(required=True, metadata={
        "description": "the approved PDF is in the locked archive"})
    receipts = fields.List(fields.Nested(ReceiptSchema), required=True)
    can_approve = fields.Boolean(required=True, metadata={
        "description": "the caller may approve (or return) it now"})


class DownloadSchema(Schema):
    url = fields.String(required=True, metadata={"description": "presigned GET, short-lived"})
    expires_at = Instant(required=True)
    filename = fields.String(required=True)
