"""Creating tenants, Bidang and user accounts (intake owns the identity tables), audited."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import audit
from shared.identity.models import Bidang, RoleGrant, Tenant, User
from shared.identity.passwords import hash_password
from shared.identity.roles import Role

SERVICE = "intake"
MIN_PASSWORD_LENGTH = 12


class AccountError(ValueError):
    """An account could not be created as asked; the message says why, in Indonesian."""


def create_tenant(session: Session, *, slug: str, name: str,
                  actor: str = "system") -> Tenant:
    tenant = Tenant(slug=slug, name=name)
    session.add(tenant)
    session.flush()
    audit.record(session, service=SERVICE, action="tenant.created", target_type="tenant",
                 target_id=tenant.id, tenant_id=tenant.id, actor=actor,
                 after={"slug": slug, "name": name})
    return tenant


def create_bidang(session: Session, *, tenant: Tenant, name: str,
                  actor: str = "system") -> Bidang:
    bidang = Bidang(tenant_id=tenant.id, name=name)
    session.add(bidang)
    session.flush()
    audit.record(session, service=SERVICE, action="bidang.created", target_type="bidang",
                 target_id=bidang.id, tenant_id=tenant.id, actor=actor, after={"name": name})
    return bidang


def create_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    password: str,
    roles: Iterable[tuple[Role, uuid.UUID | None]],
    tenant_id: uuid.UUID | None = None,
    bidang_id: uuid.UUID | None = None,
    email: str | None = None,
    nip: str | None = None,
    is_demo: bool = False,
    actor: str = "system",
) -> User:
    roles = list(roles)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Kata sandi minimal {MIN_PASSWORD_LENGTH} karakter.")
    if session.scalar(select(User.id).where(User.username == username)):
        raise AccountError(f"Nama pengguna {username!r} sudah dipakai.")
    if any(role is Role.BIDANG_STAFF for role, _ in roles) and bidang_id is None:
        raise AccountError("Staf Bidang harus terikat pada satu Bidang.")
    user = User(username=username, full_name=full_name, email=email, nip=nip,
                tenant_id=tenant_id, bidang_id=bidang_id,
                password_hash=hash_password(password), is_demo=is_demo)
    user.grants = [RoleGrant(role=role.value, tenant_id=tenant) for role, tenant in roles]
    session.add(user)
    session.flush()
    audit.record(session, service=SERVICE, action="user.created", target_type="user",
                 target_id=user.id, tenant_id=tenant_id, actor=actor,
                 after={"username": username, "roles": [r.value for r, _ in roles]})
    return user
