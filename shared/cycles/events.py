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
