"""An active step's deadline plan: when to remind, when it is overdue, when to escalate again.

The plan is computed in the tenant's working time when the step starts, and again whenever its
deadline moves (an extension of the whole collection, a holiday added or cancelled). The
scheduler only reads `next_action_at` and advances `alert_stage`.
"""

from __future__ import annotations

from datetime import datetime

from shared.calendar import DurationUnit, WorkingCalendar
from shared.cycles.models import AlertStage, CycleStep
from shared.sop.template import SopTemplateDefinition


def due_soon_time(calendar: WorkingCalendar, start: datetime, due_at: datetime,
                  unit: DurationUnit, fraction: float) -> datetime:
    """The moment `fraction` of the step's time has passed, counted in the step's own unit."""
    if unit is DurationUnit.CALENDAR_DAYS:
        return start + (due_at - start) * fraction
    worked = calendar.working_time_between(start, due_at)
    return calendar.add_working_time(start, worked * fraction)


def plan(step: CycleStep, *, definition: SopTemplateDefinition, calendar: WorkingCalendar,
         due_at: datetime, at: datetime) -> None:
    """Set the step's deadline and the times of its reminder and second escalation.

    On a re-plan at `at` (the deadline moved), an alert already sent stays sent while its new
    time has also passed; one whose time moved into the future is armed again. A fresh step
    starts with nothing sent."""
    if step.started_at is None:
        raise ValueError("a step is planned once it has started")
    duration = definition.step(step.number).duration
    policy = definition.deadlines
    later = policy["second_escalation_after"]
    step.due_at = due_at
    step.due_soon_at = due_soon_time(calendar, step.started_at, due_at, duration.unit,
                                     float(policy["due_soon_at"]))
    has_second = bool(definition.step(step.number).breach.get("second_escalation_to"))
    step.escalate_again_at = calendar.add(due_at, later.amount, later.unit) if has_second else None
    stage = min(AlertStage(step.alert_stage or 0), stage_due(step, at))
    step.alert_stage = stage.value
    if stage < AlertStage.OVERDUE:
        step.overdue_since = None
    step.next_action_at = next_action_at(step)


def next_action_at(step: CycleStep, stage: AlertStage | None = None) -> datetime | None:
    """The time of the step's next alert, given how far its alerts have gone (`stage`, else
    its own `alert_stage`)."""
    stage = AlertStage(step.alert_stage) if stage is None else stage
    if stage is AlertStage.NONE:
        return step.due_soon_at if step.due_soon_at and step.due_soon_at < (
            step.due_at or step.due_soon_at) else step.due_at
    if stage is AlertStage.REMINDED:
        return step.due_at
    if stage is AlertStage.OVERDUE:
        return step.escalate_again_at
    return None


def stage_due(step: CycleStep, at: datetime) -> AlertStage:
    """The furthest alert stage whose time has come at `at` (a scheduler that was down catches
    up with one action: an overdue step is not reminded first)."""
    if step.escalate_again_at is not None and step.escalate_again_at <= at:
        return AlertStage.ESCALATED_AGAIN
    if step.due_at is not None and step.due_at <= at:
        return AlertStage.OVERDUE
    if step.due_soon_at is not None and step.due_soon_at <= at:
        return AlertStage.REMINDED
    return AlertStage.NONE
