"""Who may do what in the reporting service, in one place (the API and the domain both ask here).

- A cycle's LKE, evidence and reports are read by its dinas's tim_evaluasi, kasubbag_program and
  kepala_dinas, and by the city's read roles (bagian_organisasi, inspektur) for every dinas.
- Only the tim_evaluasi fills in, finalises and reopens the LKE; the three dinas roles request a
  report; only the kepala_dinas approves or returns one; the city's read roles acknowledge an
  approved report and request the city recap, which only they see.
- The platform_admin imports rubrics and reads nothing of any dinas.

Another dinas's data answers 404 (never 403 with data); a visible object the caller's role may not
act on answers 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.cycles.models import Cycle
from shared.identity.principal import Principal
from shared.identity.roles import CITY_READ_ROLES, Role
from shared.identity.scope import tenant_scope
from shared.web.errors import NotAllowed, NotFound

EVALUATORS = (Role.TIM_EVALUASI,)
DINAS_READERS = (Role.TIM_EVALUASI, Role.KASUBBAG_PROGRAM, Role.KEPALA_DINAS)
REQUESTERS = DINAS_READERS
DECIDERS = (Role.KEPALA_DINAS,)
RECEIVERS = (Role.BAGIAN_ORGANISASI, Role.INSPEKTUR)
RUBRIC_PUBLISHERS = (Role.PLATFORM_ADMIN,)


def require_visible(principal: Principal, tenant_id: uuid.UUID, what: str) -> None:
    """NotFound unless the principal may read the dinas's data at all."""
    if not tenant_scope(principal).can_read(tenant_id):
        raise NotFound(what)


def visible_cycle(session: Session, principal: Principal, cycle_id: uuid.UUID, *,
                  lock: bool = False) -> Cycle:
    """The cycle, when the principal may read its dinas (404 otherwise). `lock`: held for the
    LKE's writes (FOR NO KEY UPDATE: the workflow's own reads and foreign keys are not held up,
    two writers of the same cycle's LKE take turns)."""
    query = select(Cycle).where(Cycle.id == cycle_id)
    cycle = session.scalars(query).one_or_none()
    if cycle is None:
        raise NotFound("Siklus")
    require_visible(principal, cycle.tenant_id, "Siklus")
    if lock:
        session.refresh(cycle, with_for_update={"key_share": True})
    return cycle


def is_city_reader(principal: Principal) -> bool:
    return any(principal.has_role(role) for role in CITY_READ_ROLES)


def can_read_dinas(principal: Principal, tenant_id: uuid.UUID) -> bool:
    """May read the LKE and the reports of the dinas (its three roles, or the city's readers)."""
    return is_city_reader(principal) or holds(principal, tenant_id, DINAS_READERS)


def require_dinas_reader(principal: Principal, tenant_id: uuid.UUID, what: str) -> None:
    """404 outside the principal's scope, 403 for a role of the dinas that does not read it."""
    require_visible(principal, tenant_id, what)
    if not can_read_dinas(principal, tenant_id):
        raise NotAllowed(f"Hanya {_names(DINAS_READERS)}, Bagian Organisasi atau Inspektur "
                         f"yang dapat melihat {what.lower()}.")


def holds(principal: Principal, tenant_id: uuid.UUID | None, roles: Iterable[Role]) -> bool:
    return any(principal.has_role(role, tenant_id) for role in roles)


def require_role(principal: Principal, tenant_id: uuid.UUID | None, roles: Iterable[Role],
                 what: str) -> None:
    """NotAllowed (403) unless the principal holds one of `roles` (in the tenant, for a tenant
    role; city-wide for a city role)."""
    roles = tuple(roles)
    if not holds(principal, tenant_id, roles):
        raise NotAllowed(f"Hanya {_names(roles)} yang dapat {what}.")


def require_receiver(principal: Principal, what: str) -> Role:
    """The city role under which the principal receives an approved report (403 without)."""
    role = next((role for role in RECEIVERS if principal.has_role(role)), None)
    if role is None:
        raise NotAllowed(f"Hanya {_names(RECEIVERS)} yang dapat {what}.")
    return role


def _names(roles: Iterable[Role]) -> str:
    labels = [role.label for role in roles]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} atau {labels[-1]}"
