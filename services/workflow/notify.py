"""Who holds a role on a given day (including an acting official, Plt/Plh), and the in-app
notifications the workflow writes for them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shared.cycles.models import Notification
from shared.identity.models import ActingAssignment, RoleGrant, User
from shared.identity.roles import Role


def holders(session: Session, role: Role, tenant_id: uuid.UUID, day: date) -> list[uuid.UUID]:
    """Active users holding `role` for the tenant (city roles: city-wide) on `day`: those granted
    the role, and those assigned to act in it (Plt/Plh) for a range covering `day`."""
    scope = None if role.is_tenant_role else tenant_id
    granted = select(RoleGrant.user_id).where(
        RoleGrant.role == role.value,
        RoleGrant.tenant_id == tenant_id if scope is not None else RoleGrant.tenant_id.is_(None))
    acting = select(ActingAssignment.user_id).where(
        ActingAssignment.role == role.value,
        ActingAssignment.revoked_at.is_(None),
        ActingAssignment.starts_on <= day, ActingAssignment.ends_on >= day,
        or_(ActingAssignment.tenant_id == tenant_id, ActingAssignment.tenant_id.is_(None))
        if scope is not None else ActingAssignment.tenant_id.is_(None))
    return list(session.scalars(
        select(User.id).where(User.active.is_(True),
                              or_(User.id.in_(granted), User.id.in_(acting)))
        .order_by(User.username)))


def bidang_staff(session: Session, bidang_id: uuid.UUID) -> list[uuid.UUID]:
    """The active staff of one Bidang."""
    return list(session.scalars(
        select(User.id).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(User.bidang_id == bidang_id, User.active.is_(True),
               RoleGrant.role == Role.BIDANG_STAFF.value)
        .order_by(User.username)))


def notify(session: Session, user_ids: Iterable[uuid.UUID], *, tenant_id: uuid.UUID, kind: str,
           subject: str, body: str, cycle_id: uuid.UUID | None = None,
           step_id: uuid.UUID | None = None) -> list[uuid.UUID]:
    """One inbox entry per distinct user; the ids of the users notified."""
    notified = list(dict.fromkeys(user_ids))
    session.add_all(Notification(tenant_id=tenant_id, user_id=user_id, kind=kind,
                                 subject=subject[:255], body=body, cycle_id=cycle_id,
                                 step_id=step_id)
                    for user_id in notified)
    return notified
