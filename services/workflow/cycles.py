"""Cycles: publishing template versions, opening a cycle with its steps, starting a step with
its working-time deadline, and the cycle's document list (SOP step 3's output).

The transitions that complete a step once its guard holds are the workflow issue's; this module
holds what a cycle needs to exist and to be collected into.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shared import audit
from shared.cycles.calendars import calendar_for
from shared.cycles.events import CYCLE_OPENED, STEP_STARTED
from shared.cycles.models import (
    Cycle,
    CycleRequirement,
    CycleState,
    CycleStep,
    SopTemplate,
    StepState,
)
from shared.cycles.templates import cycle_definition, definition_of
from shared.events import emit, new_event
from shared.identity.models import Bidang
from shared.sop.template import SopTemplateDefinition

SERVICE = "workflow"


class CycleError(ValueError):
    """The cycle cannot do what was asked; the message says why, in Indonesian."""


def publish_template(session: Session, definition: SopTemplateDefinition, *,
                     tenant_id: uuid.UUID | None = None) -> SopTemplate:
    """Store a template version (once: publishing the same code and version again returns it)."""
    existing = session.scalars(select(SopTemplate).where(
        SopTemplate.code == definition.code, SopTemplate.version == definition.version)).first()
    if existing is not None:
        return existing
    template = SopTemplate(code=definition.code, version=definition.version, tenant_id=tenant_id,
                           name=definition.name, definition=definition.raw)
    session.add(template)
    session.flush()
    audit.record(session, service=SERVICE, action="template.published", target_type="template",
                 target_id=template.id, tenant_id=tenant_id,
                 after={"code": definition.code, "version": definition.version})
    return template


def open_cycle(session: Session, *, tenant_id: uuid.UUID, year: int, template: SopTemplate,
               at: datetime, actor_id: uuid.UUID | None = None) -> Cycle:
    """Open a tenant's cycle for a year on a template version; step 1 starts at once."""
    definition = definition_of(template)
    if template.tenant_id not in (None, tenant_id):
        raise CycleError("Templat SOP ini milik perangkat daerah lain.")
    clash = session.scalar(select(Cycle.id).where(
        Cycle.tenant_id == tenant_id, Cycle.year == year, Cycle.state != CycleState.CANCELLED))
    if clash:
        raise CycleError(f"Siklus tahun {year} sudah dibuka.")
    cycle = Cycle(tenant_id=tenant_id, year=year, template_id=template.id, opened_by=actor_id,
                  opened_at=at, state=CycleState.ACTIVE.value)
    session.add(cycle)
    session.flush()
    steps = [CycleStep(cycle_id=cycle.id, tenant_id=tenant_id, number=s.number,
                       state=StepState.PENDING.value) for s in definition.steps]
    session.add_all(steps)
    audit.record(session, service=SERVICE, action="cycle.opened", target_type="cycle",
                 target_id=cycle.id, tenant_id=tenant_id, actor_user_id=actor_id,
                 after={"year": year, "template": f"{template.code} v{template.version}"})
    emit(session, new_event(CYCLE_OPENED, tenant_id=tenant_id, payload={
        "cycle_id": cycle.id, "year": year, "template_code": template.code,
        "template_version": template.version}))
    start_step(session, steps[0], definition=definition, at=at, actor_id=actor_id)
    return cycle


def start_step(session: Session, step: CycleStep, *, definition: SopTemplateDefinition,
               at: datetime, actor_id: uuid.UUID | None = None) -> None:
    """pending -> active, with `due_at` counted in the tenant's working time from `at`."""
    if step.state != StepState.PENDING:
        raise CycleError(f"Langkah {step.number} tidak dapat dimulai dari keadaan {step.state}.")
    duration = definition.step(step.number).duration
    step.state = StepState.ACTIVE.value
    step.started_at = at
    step.due_at = calendar_for(session, step.tenant_id).add(at, duration.amount, duration.unit)
    step.next_action_at = step.due_at
    session.flush()
    audit.record(session, service=SERVICE, action="step.started", target_type="step",
                 target_id=step.id, tenant_id=step.tenant_id, actor_user_id=actor_id,
                 before={"state": StepState.PENDING.value},
                 after={"state": StepState.ACTIVE.value, "due_at": step.due_at.isoformat()})
    emit(session, new_event(STEP_STARTED, tenant_id=step.tenant_id, payload={
        "cycle_id": step.cycle_id, "step_id": step.id, "number": step.number,
        "started_at": at, "due_at": step.due_at}))


def set_document_list(session: Session, *, cycle: Cycle,
                      owed: Mapping[uuid.UUID, Iterable[str]],
                      actor_id: uuid.UUID | None = None) -> list[CycleRequirement]:
    """Record which document types each Bidang owes in the cycle (replacing an earlier list)."""
    definition = cycle_definition(session, cycle)
    known = {d.code for d in definition.document_types}
    bidang_ids = set(session.scalars(select(Bidang.id).where(
        Bidang.tenant_id == cycle.tenant_id, Bidang.closed_at.is_(None))))
    problems = [f"Bidang {b} bukan Bidang aktif perangkat daerah ini." for b in owed
                if b not in bidang_ids]
    problems += [f"Jenis dokumen {code!r} tidak dikenal templat." for codes in owed.values()
                 for code in codes if code not in known]
    if problems:
        raise CycleError(" ".join(problems))
    session.execute(delete(CycleRequirement).where(CycleRequirement.cycle_id == cycle.id))
    rows = [CycleRequirement(cycle_id=cycle.id, tenant_id=cycle.tenant_id, bidang_id=bidang_id,
                             document_type=code)
            for bidang_id, codes in owed.items() for code in dict.fromkeys(codes)]
    session.add_all(rows)
    audit.record(session, service=SERVICE, action="cycle.document_list_set", target_type="cycle",
                 target_id=cycle.id, tenant_id=cycle.tenant_id, actor_user_id=actor_id,
                 after={str(b): sorted(set(c)) for b, c in owed.items()})
    return rows
