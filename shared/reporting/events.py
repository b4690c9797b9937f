"""The reporting service's events, with their payload schemas (version 1).

`report.ready`/`report.failed` end a build; `report.approved`/`report.returned` are the
kepala_dinas's decision on a cycle report (the workflow completes step 6 on `report.approved`);
`evaluation.finalised`/`evaluation.reopened` lock and unlock a cycle's LKE; `report.acknowledged`
is a bagian_organisasi or inspektur user's receipt of an approved report.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from shared.events import payload_schema

REPORT_REQUESTED = "report.requested"
REPORT_READY = "report.ready"
REPORT_FAILED = "report.failed"
REPORT_APPROVED = "report.approved"
REPORT_RETURNED = "report.returned"
REPORT_ACKNOWLEDGED = "report.acknowledged"
EVALUATION_FINALISED = "evaluation.finalised"
EVALUATION_REOPENED = "evaluation.reopened"


class _ReportRef(Schema):
    report_id = fields.UUID(required=True)
    kind = fields.String(required=True)  # cycle | city_recap
    cycle_id = fields.UUID(allow_none=True, load_default=None)  # None for a city recap
    year = fields.Integer(required=True)


@payload_schema(REPORT_REQUESTED)
class ReportRequested(_ReportRef):
    requested_by = fields.UUID(allow_none=True, load_default=None)


@payload_schema(REPORT_READY)
class ReportReady(_ReportRef):
    fingerprint = fields.String(required=True)
    pdf_sha256 = fields.String(required=True)
    xlsx_sha256 = fields.String(required=True)
    build_seconds = fields.Float(required=True)
    reused = fields.Boolean(required=True)  # artifacts of the same inputs already existed


@payload_schema(REPORT_FAILED)
class ReportFailed(_ReportRef):
    error = fields.String(required=True)
    attempts = fields.Integer(required=True)


@payload_schema(REPORT_APPROVED)
class ReportApproved(_ReportRef):
    approved_by = fields.UUID(required=True)
    archive_key = fields.String(required=True)
    pdf_sha256 = fields.String(required=True)


@payload_schema(REPORT_RETURNED)
class ReportReturned(_ReportRef):
    returned_by = fields.UUID(required=True)
    reason = fields.String(required=True)


@payload_schema(REPORT_ACKNOWLEDGED)
class ReportAcknowledged(_ReportRef):
    user_id = fields.UUID(required=True)
    role = fields.String(required=True)


class _EvaluationRef(Schema):
    evaluation_id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)


@payload_schema(EVALUATION_FINALISED)
class EvaluationFinalised(_EvaluationRef):
    total = fields.Decimal(required=True, as_string=True)
    grade = fields.String(required=True)
    finalised_by = fields.UUID(required=True)


@payload_schema(EVALUATION_REOPENED)
class EvaluationReopened(_EvaluationRef):
    reason = fields.String(required=True)
