"""The intake's events about documents and packages, with their payload schemas (version 1)."""

from __future__ import annotations

from marshmallow import Schema, fields

from shared.events import payload_schema

DOCUMENT_UPLOADED = "document.uploaded"
DOCUMENT_REPLACED = "document.replaced"
SUBMISSION_SUBMITTED = "submission.submitted"
SUBMISSION_WITHDRAWN = "submission.withdrawn"
DOCUMENT_RETURNED = "document.returned"
DOCUMENT_ACCEPTED = "document.accepted"
SUBMISSION_ACCEPTED = "submission.accepted"


class _PackageRef(Schema):
    cycle_id = fields.UUID(required=True)
    bidang_id = fields.UUID(required=True)
    submission_id = fields.UUID(required=True)


class _ItemRef(_PackageRef):
    item_id = fields.UUID(required=True)
    document_type = fields.String(required=True)
    version_id = fields.UUID(required=True)


@payload_schema(DOCUMENT_UPLOADED)
@payload_schema(DOCUMENT_REPLACED)
class DocumentVersionAdded(_ItemRef):
    version_number = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
    kind = fields.String(required=True)


@payload_schema(SUBMISSION_SUBMITTED)
class SubmissionSubmitted(_PackageRef):
    document_types = fields.List(fields.String(), required=True)
    submitted_at = fields.AwareDateTime(required=True)


@payload_schema(SUBMISSION_WITHDRAWN)
class SubmissionWithdrawn(_PackageRef):
    pass


@payload_schema(DOCUMENT_RETURNED)
class DocumentReturned(_ItemRef):
    reason = fields.String(required=True)


@payload_schema(DOCUMENT_ACCEPTED)
class DocumentAccepted(_ItemRef):
    pass


@payload_schema(SUBMISSION_ACCEPTED)
class SubmissionAccepted(_PackageRef):
    accepted_at = fields.AwareDateTime(required=True)


CYCLE_DOCUMENT_UPLOADED = "cycle_document.uploaded"


@payload_schema(CYCLE_DOCUMENT_UPLOADED)
class CycleDocumentUploaded(Schema):
    cycle_id = fields.UUID(required=True)
    document_id = fields.UUID(required=True)
    kind = fields.String(required=True)
    number = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
