"""A dinas's people as the API answers and the portal pages show them: plain dicts built from
the rows `people` returns (role labels, Bidang names, the one-time credential with its link)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.intake.people import Credential, tenant_role
from shared.identity.account_links import link_url
from shared.identity.models import ActingAssignment, Bidang, RoleGrant, User
from shared.identity.roles import Role


def bidang_views(session: Session, rows: Iterable[Bidang]) -> list[dict[str, Any]]:
    rows = list(rows)
    staff = dict(session.execute(
        select(User.bidang_id, func.count()).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(User.bidang_id.in_([b.id for b in rows]), User.active.is_(True),
               RoleGrant.role == Role.BIDANG_STAFF.value)
        .group_by(User.bidang_id)).all())
    return [{"id": b.id, "name": b.name, "closed_at": b.closed_at, "staff": staff.get(b.id, 0)}
            for b in rows]


def person_views(session: Session, users: Iterable[User]) -> list[dict[str, Any]]:
    users = list(users)
    names = _bidang_names(session, {u.bidang_id for u in users if u.bidang_id})
    return [_person(u, names) for u in users]


def person_view(session: Session, user: User) -> dict[str, Any]:
    return person_views(session, [user])[0]


def _person(user: User, bidang_names: dict[uuid.UUID, str]) -> dict[str, Any]:
    role = tenant_role(user)
    return {
        "id": user.id, "username": user.username, "full_name": user.full_name,
        "nip": user.nip, "email": user.email, "role": role.value if role else None,
        "role_label": role.label if role else None, "bidang_id": user.bidang_id,
        "bidang_name": bidang_names.get(user.bidang_id) if user.bidang_id else None,
        "active": user.active, "must_change_password": user.must_change_password,
        "deactivated_at": user.deactivated_at, "created_at": user.created_at,
    }


def acting_views(session: Session, rows: Iterable[ActingAssignment]) -> list[dict[str, Any]]:
    rows = list(rows)
    users = {u.id: u for u in session.scalars(
        select(User).where(User.id.in_({a.user_id for a in rows})))}
    return [{
        "id": a.id, "user_id": a.user_id, "username": users[a.user_id].username,
        "full_name": users[a.user_id].full_name, "role": a.role,
        "role_label": Role(a.role).label, "kind": a.kind, "starts_on": a.starts_on,
        "ends_on": a.ends_on, "reason": a.reason, "revoked_at": a.revoked_at,
    } for a in rows]


def credential_view(credential: Credential, *, portal_url: str) -> dict[str, Any]:
    """The one-time credential as handed over: a link's full address, or the password."""
    return {"kind": credential.kind, "secret": credential.secret,
            "url": link_url(portal_url, credential.secret) if credential.kind == "link"
            else None,
            "expires_at": credential.expires_at}


def _bidang_names(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Bidang.id, Bidang.name).where(Bidang.id.in_(ids))).all())
