"""What the workflow API answers, built from the domain's rows as plain dicts (the views dump them
with the schemas of `schemas.py`): templates, cycle summaries and details with each step's
deadline plan and, for the active step, what its guard still lacks for the caller; the document
list, the collection's progress per Bidang, extensions and the cycle's audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from services.workflow.actions import document_list
from services.workflow.collection import outstanding
from services.workflow.cycles import TEMPLATE_TARGETS, missing_of, steps_of, template_offered
from shared.audit import AuditEntry
from shared.cycles.collection import collection_deadline, collection_step
from shared.cycles.models import (
    CollectionClosure,
    CollectionExtension,
    CollectionPackage,
    Cycle,
    CycleStep,
    PackageProgress,
    SopTemplate,
    StepState,
)
from shared.cycles.templates import cycle_definition
from shared.identity.models import Bidang, User
from shared.identity.principal import Principal
from shared.identity.scope import tenant_scope
from shared.publication_targets import (
    Targets,
    offer_scope,
    offered_to,
    stored_targets_of,
    visible_ids,
)

SYSTEM_ACTOR = "sistem"


# -- templates -------------------------------------------------------------------------------------

def visible_templates(session: Session, principal: Principal) -> list[SopTemplate]:
    """What the principal is offered: the city-wide versions published to every dinas or to one
    of the principal's, and the variants of those dinas. The city (its read roles, and the
    platform_admin who publishes them) sees every city-wide version; a dinas's variant is that
    dinas's data (the platform_admin reads none)."""
    scope = tenant_scope(principal)
    query = select(SopTemplate).order_by(SopTemplate.code, SopTemplate.version)
    if scope.all_tenants_readable:
        return list(session.scalars(query))
    offered = offer_scope(principal)
    city_wide: ColumnElement[bool] = SopTemplate.tenant_id.is_(None)
    if offered is not None:
        city_wide = and_(city_wide, offered_to(
            TEMPLATE_TARGETS, all_column=SopTemplate.all_tenants, id_column=SopTemplate.id,
            tenant_ids=offered))
    variants = SopTemplate.tenant_id.in_(scope.readable) if scope.readable else None
    return list(session.scalars(query.where(
        or_(city_wide, variants) if variants is not None else city_wide)))


def template_visible(session: Session, principal: Principal, template: SopTemplate) -> bool:
    if template.tenant_id is not None:
        return tenant_scope(principal).can_read(template.tenant_id)
    offered = offer_scope(principal)
    return offered is None or any(template_offered(session, template, tenant_id)
                                  for tenant_id in offered)


def template_summaries(session: Session, principal: Principal,
                       templates: Sequence[SopTemplate]) -> list[dict[str, Any]]:
    """Each template with the dinas it is published to (a dinas is told only about itself)."""
    targets = stored_targets_of(session, TEMPLATE_TARGETS, templates)
    readable = offer_scope(principal)
    return [_template_summary(t, targets[t.id], readable) for t in templates]


def template_detail(session: Session, principal: Principal,
                    template: SopTemplate) -> dict[str, Any]:
    return {**template_summaries(session, principal, [template])[0],
            "definition": template.definition}


def _template_summary(template: SopTemplate, targets: Targets,
                      readable: frozenset[uuid.UUID] | None) -> dict[str, Any]:
    return {"id": template.id, "code": template.code, "version": template.version,
            "name": template.name, "tenant_id": template.tenant_id,
            "all_tenants": template.tenant_id is None and targets.all_tenants,
            "tenant_ids": [template.tenant_id] if template.tenant_id is not None
            else visible_ids(targets, readable),
            "published_at": template.published_at}


# -- cycles ----------------------------------------------------------------------------------------

def cycle_summaries(session: Session, cycles: Sequence[Cycle]) -> list[dict[str, Any]]:
    """Summaries of many cycles with two more queries in all (templates, active steps)."""
    ids = [c.id for c in cycles]
    templates = {t.id: t for t in session.scalars(select(SopTemplate).where(
        SopTemplate.id.in_({c.template_id for c in cycles})))}
    active = dict(session.execute(select(CycleStep.cycle_id, CycleStep.number).where(
        CycleStep.cycle_id.in_(ids), CycleStep.state == StepState.ACTIVE)).all())
    return [_summary(c, templates[c.template_id], active.get(c.id)) for c in cycles]


def _summary(cycle: Cycle, template: SopTemplate, active_step: int | None) -> dict[str, Any]:
    return {"id": cycle.id, "tenant_id": cycle.tenant_id, "year": cycle.year,
            "state": cycle.state,
            "template": {"id": template.id, "code": template.code, "version": template.version,
                         "name": template.name},
            "opened_at": cycle.opened_at, "completed_at": cycle.completed_at,
            "cancelled_at": cycle.cancelled_at, "active_step": active_step}


def cycle_detail(session: Session, cycle: Cycle, principal: Principal,
                 at: datetime) -> dict[str, Any]:
    session.flush()
    definition = cycle_definition(session, cycle)
    steps = steps_of(session, cycle)
    active = next((s.number for s in steps if s.state == StepState.ACTIVE), None)
    template = session.get_one(SopTemplate, cycle.template_id)
    detail = _summary(cycle, template, active)
    detail["cancel_reason"] = cycle.cancel_reason
    detail["steps"] = []
    for step in steps:
        spec = definition.step(step.number)
        running = step.state == StepState.ACTIVE
        detail["steps"].append({
            "id": step.id, "number": step.number, "activity": spec.activity,
            "actors": [r.value for r in spec.actors], "inputs": list(spec.inputs),
            "output": spec.output,
            "duration": {"amount": spec.duration.amount, "unit": spec.duration.unit.value},
            "state": step.state, "started_at": step.started_at, "due_at": step.due_at,
            "due_soon_at": step.due_soon_at, "escalate_again_at": step.escalate_again_at,
            "overdue": running and step.due_at is not None and at > step.due_at,
            "overdue_since": step.overdue_since, "completed_at": step.completed_at,
            "completed_by": step.completed_by, "completion_note": step.completion_note,
            "missing": missing_of(session, cycle, step, principal) if running else [],
            "can_complete": running and any(principal.has_role(r, cycle.tenant_id)
                                            for r in spec.actors),
        })
    return detail


# -- step actions ----------------------------------------------------------------------------------

def document_list_view(session: Session, cycle: Cycle) -> dict[str, Any]:
    definition = cycle_definition(session, cycle)
    bidang = session.execute(select(Bidang.id, Bidang.name).where(
        Bidang.tenant_id == cycle.tenant_id, Bidang.closed_at.is_(None))
        .order_by(Bidang.name)).all()
    return {"owed": {str(b): codes for b, codes in document_list(session, cycle).items()},
            "document_types": [{"code": d.code, "label": d.label}
                               for d in definition.document_types],
            "bidang": [{"id": b_id, "name": name} for b_id, name in bidang]}


def collection_view(session: Session, cycle: Cycle) -> dict[str, Any]:
    """Each Bidang on the list: its package's state, the deadline in force for it and what it
    still owes; and the explicit closures of the collection."""
    step = collection_step(session, cycle.id)
    packages = {p.bidang_id: p for p in session.scalars(select(CollectionPackage).where(
        CollectionPackage.cycle_id == cycle.id))}
    owed = outstanding(session, cycle)
    bidang_ids = set(packages) | set(document_list(session, cycle))
    names = dict(session.execute(select(Bidang.id, Bidang.name).where(
        Bidang.id.in_(bidang_ids))).all())
    rows = []
    for bidang_id in sorted(bidang_ids, key=lambda b: (names.get(b, ""), str(b))):
        package = packages.get(bidang_id)
        rows.append({
            "bidang_id": bidang_id, "name": names.get(bidang_id, ""),
            "state": package.state if package else PackageProgress.NOT_SUBMITTED.value,
            "first_submitted_at": package.first_submitted_at if package else None,
            "accepted_at": package.accepted_at if package else None,
            "deadline": collection_deadline(session, cycle.id, bidang_id),
            "outstanding": owed.get(bidang_id, []),
        })
    closures = session.scalars(select(CollectionClosure).where(
        CollectionClosure.cycle_id == cycle.id).order_by(CollectionClosure.closed_at))
    return {"deadline": step.due_at if step else None, "bidang": rows,
            "closures": [closure_view(c) for c in closures]}


def closure_view(closure: CollectionClosure) -> dict[str, Any]:
    return {"id": closure.id, "missing": closure.missing, "reason": closure.reason,
            "closed_by": closure.closed_by, "closed_at": closure.closed_at}


def extensions_of(session: Session, cycle: Cycle) -> list[CollectionExtension]:
    return list(session.scalars(select(CollectionExtension).where(
        CollectionExtension.cycle_id == cycle.id)
        .order_by(CollectionExtension.granted_at, CollectionExtension.due_at)))


def extension_view(extension: CollectionExtension) -> dict[str, Any]:
    return {"id": extension.id, "bidang_id": extension.bidang_id, "due_at": extension.due_at,
            "reason": extension.reason, "granted_by": extension.granted_by,
            "granted_at": extension.granted_at}


# -- the audit trail -------------------------------------------------------------------------------

def audit_trail(session: Session, cycle: Cycle) -> list[dict[str, Any]]:
    """The audit rows of the cycle and of its steps, oldest first, with usernames as actors."""
    step_ids = [str(i) for i in session.scalars(select(CycleStep.id).where(
        CycleStep.cycle_id == cycle.id))]
    entries = list(session.scalars(select(AuditEntry).where(
        AuditEntry.tenant_id == cycle.tenant_id,
        or_(and_(AuditEntry.target_type == "cycle", AuditEntry.target_id == str(cycle.id)),
            and_(AuditEntry.target_type == "step", AuditEntry.target_id.in_(step_ids))))
        .order_by(AuditEntry.occurred_at, AuditEntry.id)))
    users = _usernames(session, {e.actor_user_id for e in entries if e.actor_user_id})
    return [{"occurred_at": e.occurred_at,
             "actor": users.get(e.actor_user_id, e.actor) if e.actor_user_id else
             (SYSTEM_ACTOR if e.actor.startswith("system") else e.actor),
             "action": e.action, "target_type": e.target_type, "target_id": e.target_id,
             "before": e.before, "after": e.after, "reason": e.reason}
            for e in entries]


def _usernames(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids)))
                .all())
