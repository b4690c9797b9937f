"""Building the Principal of a user row: its role grants, the roles it holds as an acting
official (Plt/Plh) on the day, and its Bidang."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from shared.clock import now
from shared.identity.models import ActingAssignment, User
from shared.identity.principal import Principal

# Acting assignments run over local dates; the day is taken in the city's time zone.
ACTING_TIME_ZONE = ZoneInfo("Asia/Jakarta")


def local_day(at: datetime | None = None) -> date:
    """The date `at` (default: now) falls on in Asia/Jakarta."""
    return (at or now()).astimezone(ACTING_TIME_ZONE).date()


def principal_for(user: User, on: date | None = None) -> Principal:
    """The principal of `user` on the day `on` (default: today in Asia/Jakarta): the roles
    granted to them plus those they hold as Plt/Plh that day, so an acting Kepala Dinas acts as
    kepala_dinas in every service. The acting roles are read through the user's session; a user
    row no longer attached to one gets its own grants only. (An inactive user still gets a
    principal; authentication refuses them.)"""
    grants = [(grant.role, grant.tenant_id) for grant in user.grants]
    session = object_session(user)
    if session is not None:
        grants += acting_grants(session, user.id, on or local_day())
    return Principal.of(
        user_id=user.id,
        username=user.username,
        bidang_id=user.bidang_id,
        grants=grants,
    )


def acting_grants(session: Session, user_id: uuid.UUID,
                  day: date) -> list[tuple[str, uuid.UUID | None]]:
    """The (role, tenant) pairs `user_id` holds as an acting official on `day`."""
    rows = session.execute(
        select(ActingAssignment.role, ActingAssignment.tenant_id).where(
            ActingAssignment.user_id == user_id, ActingAssignment.revoked_at.is_(None),
            ActingAssignment.starts_on <= day, ActingAssignment.ends_on >= day))
    return [(role, tenant_id) for role, tenant_id in rows]
