"""The SOP state machine: publishing template versions, opening a cycle, its steps moving
pending -> active -> completed in order (each only when its guard holds), and the corrections
(reopen a step, cancel a cycle).

Every transition writes its audit row (who, when, from, to, why) and emits its event in the
caller's transaction. `principal` is the acting user; None is the system itself (the consumer
completing the collection when the last package is accepted), which never passes a guard that
needs a person's confirmation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.workflow import deadlines
from services.workflow.collection import open_packages
from services.workflow.guards import GuardContext, missing_for
from shared import audit
from shared.cycles.calendars import calendar_for
from shared.cycles.collection import COLLECTION_STEP
from shared.cycles.events import (
    CYCLE_CANCELLED,
    CYCLE_COMPLETED,
    CYCLE_OPENED,
    STEP_COMPLETED,
    STEP_REOPENED,
    STEP_STARTED,
)
from shared.cycles.models import (
    AlertStage,
    Cycle,
    CycleState,
    CycleStep,
    SopTemplate,
    SopTemplateTenant,
    StepState,
)
from shared.cycles.templates import cycle_definition, definition_of
from shared.events import emit, new_event
from shared.identity.models import Tenant
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.publication_targets import (
    EVERY_TENANT,
    LinkTable,
    Targets,
    store_targets,
    stored_targets,
    targets_audit,
)
from shared.sop.template import SopTemplateDefinition
from shared.web.errors import Conflict, GuardFailed, Invalid, NotAllowed, NotFound

SERVICE = "workflow"
OPENERS = (Role.KEPALA_DINAS, Role.KASUBBAG_PROGRAM)
CORRECTORS = (Role.KEPALA_DINAS,)
MAX_REASON = 2000
# Where a city-wide template version keeps the dinas it is published to (when not to all).
TEMPLATE_TARGETS = LinkTable(owner=SopTemplateTenant.template_id,
                             tenant=SopTemplateTenant.tenant_id)


# -- who may act ----------------------------------------------------------------------------------

def require_role(principal: Principal | None, tenant_id: uuid.UUID, roles: Iterable[Role],
                 what: str) -> None:
    """The principal holds one of `roles` in the tenant (the system may do anything)."""
    roles = tuple(roles)
    if principal is None or any(principal.has_role(r, tenant_id) for r in roles):
        return
    names = " atau ".join(r.label for r in roles)
    raise NotAllowed(f"Hanya {names} yang dapat {what}.")


def actor_of(principal: Principal | None) -> dict[str, Any]:
    if principal is None:
        return {"actor": "system:workflow"}
    return {"actor_user_id": principal.user_id}


def require_reason(reason: str | None, what: str = "Alasan") -> str:
    text = (reason or "").strip()
    if not text:
        raise Invalid(f"{what} wajib diisi.")
    if len(text) > MAX_REASON:
        raise Invalid(f"{what} paling panjang {MAX_REASON} karakter.")
    return text


# -- templates and cycles -------------------------------------------------------------------------

def publish_template(session: Session, definition: SopTemplateDefinition, *,
                     tenant_id: uuid.UUID | None = None,
                     actor_id: uuid.UUID | None = None,
                     targets: Targets | None = None) -> SopTemplate:
    """Store a template version (once: publishing the same code and version again returns it,
    and a different document under a published code and version is refused).

    A city-wide version is offered to the dinas of `targets` (None: every dinas when new, as it
    was when already published); publishing it again with other targets changes only them,
    audited. A dinas's own variant (`tenant_id`) is offered to that dinas alone."""
    if tenant_id is not None and targets is not None and not targets.all_tenants:
        raise Invalid("Varian dinas hanya berlaku bagi dinasnya sendiri; pilihan perangkat "
                      "daerah hanya untuk templat seluruh kota.")
    existing = session.scalars(select(SopTemplate).where(
        SopTemplate.code == definition.code, SopTemplate.version == definition.version)).first()
    if existing is not None:
        if existing.definition != definition.raw or existing.tenant_id != tenant_id:
            raise Conflict(f"Templat {definition.code} versi {definition.version} sudah "
                           "diterbitkan dengan isi lain; terbitkan sebagai versi baru.")
        if tenant_id is None and targets is not None:
            _retarget(session, existing, targets, actor_id=actor_id)
        return existing
    template = SopTemplate(code=definition.code, version=definition.version, tenant_id=tenant_id,
                           name=definition.name, definition=definition.raw)
    session.add(template)
    session.flush()
    offered = targets or EVERY_TENANT
    store_targets(session, TEMPLATE_TARGETS, template, offered)
    audit.record(session, service=SERVICE, action="template.published", target_type="template",
                 target_id=template.id, tenant_id=tenant_id, actor_user_id=actor_id,
                 after={"code": definition.code, "version": definition.version,
                        "name": definition.name,
                        **(targets_audit(session, offered) if tenant_id is None else {})})
    return template


def _retarget(session: Session, template: SopTemplate, targets: Targets, *,
              actor_id: uuid.UUID | None) -> None:
    before = stored_targets(session, TEMPLATE_TARGETS, template)
    if before == targets:
        return
    old_words = targets_audit(session, before)
    store_targets(session, TEMPLATE_TARGETS, template, targets)
    audit.record(session, service=SERVICE, action="template.targets_changed",
                 target_type="template", target_id=template.id, actor_user_id=actor_id,
                 before={"code": template.code, "version": template.version, **old_words},
                 after={"code": template.code, "version": template.version,
                        **targets_audit(session, targets)})


def template_offered(session: Session, template: SopTemplate, tenant_id: uuid.UUID) -> bool:
    """May the dinas run a cycle on this template version (its own variant, or a city-wide
    version published to every dinas or to it)?"""
    if template.tenant_id is not None:
        return template.tenant_id == tenant_id
    return stored_targets(session, TEMPLATE_TARGETS, template).offers(tenant_id)


def get_cycle(session: Session, cycle_id: uuid.UUID, *, for_update: bool = False) -> Cycle:
    query = select(Cycle).where(Cycle.id == cycle_id)
    cycle = session.scalars(query.with_for_update() if for_update else query).one_or_none()
    if cycle is None:
        raise NotFound("Siklus")
    return cycle


def steps_of(session: Session, cycle: Cycle) -> list[CycleStep]:
    return list(session.scalars(select(CycleStep).where(CycleStep.cycle_id == cycle.id)
                                .order_by(CycleStep.number)))


def step_of(session: Session, cycle: Cycle, number: int) -> CycleStep:
    step = session.scalars(select(CycleStep).where(
        CycleStep.cycle_id == cycle.id, CycleStep.number == number)).one_or_none()
    if step is None:
        raise NotFound(f"Langkah {number}")
    return step


def open_cycle(session: Session, *, tenant_id: uuid.UUID, year: int, template: SopTemplate,
               at: datetime, principal: Principal | None) -> Cycle:
    """Open a tenant's cycle for a year on a template version; step 1 starts at once."""
    require_role(principal, tenant_id, OPENERS, "membuka siklus")
    if not 2000 <= year <= 2100:
        raise Invalid("Tahun siklus harus antara 2000 dan 2100.")
    definition = definition_of(template)
    if not template_offered(session, template, tenant_id):
        raise NotFound("Templat SOP")
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("Perangkat daerah")
    if not tenant.active:
        raise Conflict(f"{tenant.name} sudah dinonaktifkan; siklus baru tidak dapat dibuka.")
    clash = session.scalar(select(Cycle.id).where(
        Cycle.tenant_id == tenant_id, Cycle.year == year, Cycle.state != CycleState.CANCELLED))
    if clash:
        raise Conflict(f"Siklus tahun {year} sudah dibuka.")
    cycle = Cycle(tenant_id=tenant_id, year=year, template_id=template.id, opened_at=at,
                  opened_by=principal.user_id if principal else None,
                  state=CycleState.ACTIVE.value)
    session.add(cycle)
    session.flush()
    steps = [CycleStep(cycle_id=cycle.id, tenant_id=tenant_id, number=s.number,
                       state=StepState.PENDING.value, alert_stage=AlertStage.NONE.value)
             for s in definition.steps]
    session.add_all(steps)
    audit.record(session, service=SERVICE, action="cycle.opened", target_type="cycle",
                 target_id=cycle.id, tenant_id=tenant_id, **actor_of(principal),
                 after={"state": CycleState.ACTIVE.value, "year": year,
                        "template": f"{template.code} v{template.version}"})
    emit(session, new_event(CYCLE_OPENED, tenant_id=tenant_id, payload={
        "cycle_id": cycle.id, "year": year, "template_code": template.code,
        "template_version": template.version}))
    start_step(session, cycle, steps[0], definition=definition, at=at, principal=principal)
    return cycle


def start_step(session: Session, cycle: Cycle, step: CycleStep, *,
               definition: SopTemplateDefinition, at: datetime,
               principal: Principal | None) -> None:
    """pending -> active, with its deadline plan counted in the tenant's working time."""
    if step.state != StepState.PENDING:
        raise Conflict(f"Langkah {step.number} tidak dapat dimulai dari keadaan {step.state}.")
    duration = definition.step(step.number).duration
    calendar = calendar_for(session, step.tenant_id)
    step.state = StepState.ACTIVE.value
    step.started_at = at
    step.alert_stage = AlertStage.NONE.value
    deadlines.plan(step, definition=definition, calendar=calendar, at=at,
                   due_at=calendar.add(at, duration.amount, duration.unit))
    session.flush()
    if step.number == COLLECTION_STEP:
        open_packages(session, cycle)
    assert step.due_at is not None
    audit.record(session, service=SERVICE, action="step.started", target_type="step",
                 target_id=step.id, tenant_id=step.tenant_id, **actor_of(principal),
                 before={"state": StepState.PENDING.value},
                 after={"state": StepState.ACTIVE.value, "number": step.number,
                        "due_at": step.due_at.isoformat()})
    emit(session, new_event(STEP_STARTED, tenant_id=step.tenant_id, payload={
        "cycle_id": step.cycle_id, "step_id": step.id, "number": step.number,
        "started_at": at, "due_at": step.due_at}))


# -- moving forward -------------------------------------------------------------------------------

def require_active_cycle(cycle: Cycle) -> None:
    if cycle.state == CycleState.CANCELLED:
        raise Conflict("Siklus ini sudah dibatalkan.")
    if cycle.state == CycleState.COMPLETED:
        raise Conflict("Siklus ini sudah selesai.")


def require_active_step(session: Session, cycle: Cycle, number: int) -> CycleStep:
    require_active_cycle(cycle)
    step = step_of(session, cycle, number)
    if step.state == StepState.PENDING:
        raise Conflict(f"Langkah {number} belum dimulai: langkah sebelumnya belum selesai.")
    if step.state != StepState.ACTIVE:
        raise Conflict(f"Langkah {number} sudah selesai.")
    return step


def missing_of(session: Session, cycle: Cycle, step: CycleStep,
               principal: Principal | None) -> list[str]:
    return missing_for(GuardContext(session=session, cycle=cycle, step=step,
                                    definition=cycle_definition(session, cycle),
                                    principal=principal))


def complete_step(session: Session, cycle: Cycle, number: int, *, at: datetime,
                  principal: Principal | None, note: str | None = None) -> CycleStep:
    """active -> completed when the guard holds (409 with what is missing otherwise); the next
    step starts at once, and completing the last step completes the cycle."""
    step = require_active_step(session, cycle, number)
    definition = cycle_definition(session, cycle)
    require_role(principal, cycle.tenant_id, definition.step(number).actors,
                 f"menyelesaikan langkah {number}")
    missing = missing_of(session, cycle, step, principal)
    if missing:
        raise GuardFailed(f"Langkah {number} belum dapat diselesaikan: keluarannya belum ada.",
                          missing)
    note = (note or "").strip()[:MAX_REASON] or None
    step.state = StepState.COMPLETED.value
    step.completed_at = at
    step.completed_by = principal.user_id if principal else None
    step.completion_note = note
    step.next_action_at = None
    session.flush()
    on_time = step.due_at is None or at <= step.due_at
    audit.record(session, service=SERVICE, action="step.completed", target_type="step",
                 target_id=step.id, tenant_id=cycle.tenant_id, **actor_of(principal),
                 before={"state": StepState.ACTIVE.value, "number": number},
                 after={"state": StepState.COMPLETED.value, "number": number,
                        "on_time": on_time}, reason=note)
    emit(session, new_event(STEP_COMPLETED, tenant_id=cycle.tenant_id, payload={
        "cycle_id": cycle.id, "step_id": step.id, "number": number, "completed_at": at,
        "completed_by": step.completed_by, "due_at": step.due_at, "on_time": on_time,
        "note": note}))
    if number < len(definition.steps):
        start_step(session, cycle, step_of(session, cycle, number + 1), definition=definition,
                   at=at, principal=principal)
    else:
        _complete_cycle(session, cycle, at=at, principal=principal)
    return step


def _complete_cycle(session: Session, cycle: Cycle, *, at: datetime,
                    principal: Principal | None) -> None:
    cycle.state = CycleState.COMPLETED.value
    cycle.completed_at = at
    audit.record(session, service=SERVICE, action="cycle.completed", target_type="cycle",
                 target_id=cycle.id, tenant_id=cycle.tenant_id, **actor_of(principal),
                 before={"state": CycleState.ACTIVE.value},
                 after={"state": CycleState.COMPLETED.value})
    emit(session, new_event(CYCLE_COMPLETED, tenant_id=cycle.tenant_id, payload={
        "cycle_id": cycle.id, "completed_at": at}))


# -- corrections ----------------------------------------------------------------------------------

def reopen_step(session: Session, cycle: Cycle, number: int, *, at: datetime,
                principal: Principal | None, reason: str | None) -> CycleStep:
    """The kepala_dinas reopens a completed step: it is active again with a fresh deadline, and
    every step after it goes back to pending (a completed cycle is active again)."""
    require_role(principal, cycle.tenant_id, CORRECTORS, "membuka kembali langkah")
    why = require_reason(reason)
    if cycle.state == CycleState.CANCELLED:
        raise Conflict("Siklus ini sudah dibatalkan.")
    step = step_of(session, cycle, number)
    if step.state != StepState.COMPLETED:
        raise Conflict(f"Langkah {number} belum selesai, jadi tidak dapat dibuka kembali.")
    definition = cycle_definition(session, cycle)
    if cycle.state == CycleState.COMPLETED:
        cycle.state, cycle.completed_at = CycleState.ACTIVE.value, None
        audit.record(session, service=SERVICE, action="cycle.reopened", target_type="cycle",
                     target_id=cycle.id, tenant_id=cycle.tenant_id, **actor_of(principal),
                     before={"state": CycleState.COMPLETED.value},
                     after={"state": CycleState.ACTIVE.value}, reason=why)
    for later in steps_of(session, cycle)[number:]:
        if later.state == StepState.PENDING:
            continue
        before = later.state
        _reset(later)
        audit.record(session, service=SERVICE, action="step.reset", target_type="step",
                     target_id=later.id, tenant_id=cycle.tenant_id, **actor_of(principal),
                     before={"state": before, "number": later.number},
                     after={"state": StepState.PENDING.value, "number": later.number},
                     reason=f"Langkah {number} dibuka kembali: {why}")
    calendar = calendar_for(session, cycle.tenant_id)
    duration = definition.step(number).duration
    step.state = StepState.ACTIVE.value
    step.started_at = at
    step.completed_at = step.completed_by = step.completion_note = None
    step.alert_stage = AlertStage.NONE.value
    deadlines.plan(step, definition=definition, calendar=calendar, at=at,
                   due_at=calendar.add(at, duration.amount, duration.unit))
    session.flush()
    assert step.due_at is not None
    audit.record(session, service=SERVICE, action="step.reopened", target_type="step",
                 target_id=step.id, tenant_id=cycle.tenant_id, **actor_of(principal),
                 before={"state": StepState.COMPLETED.value, "number": number},
                 after={"state": StepState.ACTIVE.value, "number": number,
                        "due_at": step.due_at.isoformat()}, reason=why)
    emit(session, new_event(STEP_REOPENED, tenant_id=cycle.tenant_id, payload={
        "cycle_id": cycle.id, "step_id": step.id, "number": number, "reason": why,
        "due_at": step.due_at}))
    return step


def _reset(step: CycleStep) -> None:
    step.state = StepState.PENDING.value
    step.started_at = step.due_at = step.due_soon_at = step.escalate_again_at = None
    step.next_action_at = step.overdue_since = None
    step.completed_at = step.completed_by = step.completion_note = None
    step.alert_stage = AlertStage.NONE.value


def cancel_cycle(session: Session, cycle: Cycle, *, at: datetime, principal: Principal | None,
                 reason: str | None) -> Cycle:
    """The kepala_dinas cancels a running cycle; its unfinished steps stop (nothing is deleted,
    and the year may be opened again)."""
    require_role(principal, cycle.tenant_id, CORRECTORS, "membatalkan siklus")
    why = require_reason(reason)
    require_active_cycle(cycle)
    for step in steps_of(session, cycle):
        if step.state in (StepState.PENDING, StepState.ACTIVE):
            before = step.state
            step.state = StepState.CANCELLED.value
            step.next_action_at = None
            audit.record(session, service=SERVICE, action="step.cancelled", target_type="step",
                         target_id=step.id, tenant_id=cycle.tenant_id, **actor_of(principal),
                         before={"state": before, "number": step.number},
                         after={"state": StepState.CANCELLED.value, "number": step.number},
                         reason=why)
    cycle.state = CycleState.CANCELLED.value
    cycle.cancelled_at = at
    cycle.cancelled_by = principal.user_id if principal else None
    cycle.cancel_reason = why
    audit.record(session, service=SERVICE, action="cycle.cancelled", target_type="cycle",
                 target_id=cycle.id, tenant_id=cycle.tenant_id, **actor_of(principal),
                 before={"state": CycleState.ACTIVE.value},
                 after={"state": CycleState.CANCELLED.value}, reason=why)
    emit(session, new_event(CYCLE_CANCELLED, tenant_id=cycle.tenant_id,
                            payload={"cycle_id": cycle.id, "reason": why}))
    session.flush()
    return cycle
