"""The workflow's events about cycles and steps, with their payload schemas (version 1)."""

from __future__ import annotations

from marshmallow import Schema, fields

from shared.events import payload_schema

CYCLE_OPENED = "cycle.opened"
STEP_STARTED = "step.started"


@payload_schema(CYCLE_OPENED)
class CycleOpened(Schema):
    cycle_id = fields.UUID(required=True)
    year = fields.Integer(required=True)
    template_code = fields.String(required=True)
    template_version = fields.Integer(required=True)


@payload_schema(STEP_STARTED)
class StepStarted(Schema):
    cycle_id = fields.UUID(required=True)
    step_id = fields.UUID(required=True)
    number = fields.Integer(required=True)
    started_at = fields.AwareDateTime(required=True)
    due_at = fields.AwareDateTime(required=True)


STEP_COMPLETED = "step.completed"
STEP_REOPENED = "step.reopened"
STEP_DUE_SOON = "step.due_soon"
STEP_OVERDUE = "step.overdue"
STEP_ESCALATED = "step.escalated"
STEP_EXTENDED = "step.extended"
COLLECTION_CLOSED = "collection.closed"
CYCLE_COMPLETED = "cycle.completed"
CYCLE_CANCELLED = "cycle.cancelled"


class _StepRef(Schema):
    cycle_id = fields.UUID(required=True)
    step_id = fields.UUID(required=True)
    number = fields.Integer(required=True)


@payload_schema(STEP_COMPLETED)
class StepCompleted(_StepRef):
    completed_at = fields.AwareDateTime(required=True)
    completed_by = fields.UUID(allow_none=True, load_default=None)
    due_at = fields.AwareDateTime(allow_none=True, load_default=None)
    on_time = fields.Boolean(required=True)
    note = fields.String(allow_none=True, load_default=None)


@payload_schema(STEP_REOPENED)
class StepReopened(_StepRef):
    reason = fields.String(required=True)
    due_at = fields.AwareDateTime(required=True)


@payload_schema(STEP_DUE_SOON)
@payload_schema(STEP_OVERDUE)
class StepDeadline(_StepRef):
    due_at = fields.AwareDateTime(required=True)
    notified_user_ids = fields.List(fields.UUID(), required=True)


@payload_schema(STEP_ESCALATED)
class StepEscalated(StepDeadline):
    roles = fields.List(fields.String(), required=True)


@payload_schema(STEP_EXTENDED)
class StepExtended(_StepRef):
    extension_id = fields.UUID(required=True)
    bidang_id = fields.UUID(allow_none=True, load_default=None)
    due_at = fields.AwareDateTime(required=True)
    previous_due_at = fields.AwareDateTime(allow_none=True, load_default=None)
    reason = fields.String(required=True)


@payload_schema(COLLECTION_CLOSED)
class CollectionClosed(Schema):
    cycle_id = fields.UUID(required=True)
    closure_id = fields.UUID(required=True)
    missing = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                          required=True)
    reason = fields.String(required=True)


@payload_schema(CYCLE_COMPLETED)
class CycleCompleted(Schema):
    cycle_id = fields.UUID(required=True)
    completed_at = fields.AwareDateTime(required=True)


@payload_schema(CYCLE_CANCELLED)
class CycleCancelled(Schema):
    cycle_id = fields.UUID(required=True)
    reason = fields.String(required=True)
