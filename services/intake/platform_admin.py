"""The city's administration as the platform_admin keeps it: the dinas (tenants) themselves and
the city-level accounts and roles.

- A dinas is created together with its first Kepala Dinas, whose account gets a one-time
  activation link (nobody else ever knows its password); it can be renamed, deactivated and
  reactivated, never deleted: a deactivated dinas keeps every document, cycle and audit row, its
  people cannot sign in (`shared.identity.standing`), and no new work starts there.
- City users (no dinas) hold the city roles: bagian_organisasi and inspektur (read every dinas)
  and platform_admin. The city always keeps one active platform_admin: the last one can be
  neither deprived of the role nor deactivated.

Every function works inside the caller's transaction, audits each change with its before and
after, and raises the shared.web.errors refusals with Indonesian messages (`InvalidField`, a 422,
names the field at fault). The people of a dinas are its own administrators' (`people`).
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from services.intake import people
from services.intake.people import InvalidField
from shared import audit
from shared.clock import now
from shared.identity.account_links import LinkError, issue_link, lifetime_of
from shared.identity.models import LinkPurpose, LoginSession, RoleGrant, Tenant, User
from shared.identity.passwords import hash_password
from shared.identity.principal import Principal
from shared.identity.roles import CITY_ROLES, Role
from shared.identity.sessions import revoke_all_sessions
from shared.web.errors import Conflict, NotAllowed, NotFound

SERVICE = "intake"
ADMIN_ONLY_MESSAGE = "Hanya Administrator Platform yang dapat mengelola perangkat daerah dan " \
                     "pengguna tingkat kota."
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])$")
MAX_NAME = 255
MAX_REASON = 2000
CITY_ROLE_ORDER = (Role.PLATFORM_ADMIN, Role.BAGIAN_ORGANISASI, Role.INSPEKTUR)


@dataclass(frozen=True)
class Activation:
    """A one-time activation link's token (shown once) and when it stops working."""

    token: str
    expires_at: datetime


@dataclass(frozen=True)
class TenantOverview:
    """A dinas as the platform_admin sees it: the row, how many accounts, who heads it."""

    tenant: Tenant
    users: int
    active_users: int
    heads: list[User]


def require_platform_admin(principal: Principal) -> None:
    if not principal.has_role(Role.PLATFORM_ADMIN):
        raise NotAllowed(ADMIN_ONLY_MESSAGE)


# -- dinas ----------------------------------------------------------------------------------------

def list_tenants(session: Session, *, principal: Principal) -> list[TenantOverview]:
    """Every dinas, active ones first, by name, with its account counts and its heads."""
    require_platform_admin(principal)
    tenants = list(session.scalars(select(Tenant).order_by(Tenant.active.desc(), Tenant.name)))
    return _overviews(session, tenants)


def get_tenant(session: Session, *, principal: Principal,
               tenant_id: uuid.UUID) -> TenantOverview:
    require_platform_admin(principal)
    return _overviews(session, [_tenant(session, tenant_id)])[0]


def create_tenant_with_head(
    session: Session,
    *,
    principal: Principal,
    slug: str,
    name: str,
    kepala_username: str,
    kepala_full_name: str,
    kepala_email: str | None,
    at: datetime,
    kepala_nip: str | None = None,
) -> tuple[Tenant, User, str]:
    """A new dinas and its first Kepala Dinas, whose one-time activation link's token is
    returned (shown once: the platform_admin hands the link to the person)."""
    require_platform_admin(principal)
    tenant = Tenant(slug=_slug(session, slug), name=_tenant_name(session, name), active=True,
                    created_at=at)
    session.add(tenant)
    session.flush()
    _audit(session, principal, "tenant.created", "tenant", tenant.id, tenant.id,
           after=_tenant_facts(tenant) | {"kepala_username": kepala_username.strip().lower()})
    head, activation = _new_head(session, principal, tenant, username=kepala_username,
                                 full_name=kepala_full_name, email=kepala_email,
                                 nip=kepala_nip, at=at)
    return tenant, head, activation.token


def appoint_head(session: Session, *, principal: Principal, tenant_id: uuid.UUID,
                 username: str, full_name: str, email: str | None, at: datetime,
                 nip: str | None = None) -> tuple[User, Activation]:
    """Another Kepala Dinas account for an active dinas (e.g. its head left and nobody there can
    administer it any more), with its activation link."""
    require_platform_admin(principal)
    tenant = _tenant(session, tenant_id)
    _require_active(tenant)
    return _new_head(session, principal, tenant, username=username, full_name=full_name,
                     email=email, nip=nip, at=at)


def rename_tenant(session: Session, *, principal: Principal, tenant_id: uuid.UUID, name: str,
                  at: datetime) -> Tenant:
    """A new name (the slug, part of storage keys and addresses, stays)."""
    require_platform_admin(principal)
    tenant = _tenant(session, tenant_id)
    new_name = _tenant_name(session, name, renaming=tenant)
    if new_name == tenant.name:
        return tenant
    before = _tenant_facts(tenant)
    tenant.name = new_name
    session.flush()
    _audit(session, principal, "tenant.renamed", "tenant", tenant.id, tenant.id,
           before=before, after=_tenant_facts(tenant))
    return tenant


def deactivate_tenant(session: Session, *, principal: Principal, tenant_id: uuid.UUID,
                      reason: str, at: datetime) -> Tenant:
    """Close a dinas: its people are signed out at once and cannot sign in, use their tokens or
    activation links while it is closed; nothing of it is deleted and no new cycle opens there."""
    require_platform_admin(principal)
    tenant = _tenant(session, tenant_id, for_update=True)
    if not tenant.active:
        raise Conflict(f"{tenant.name} sudah nonaktif.")
    why = _reason(reason, required=True)
    before = _tenant_facts(tenant)
    tenant.active = False
    tenant.deactivated_at = at
    ended = cast(CursorResult[Any], session.execute(
        update(LoginSession).where(
            LoginSession.user_id.in_(select(User.id).where(User.tenant_id == tenant.id)),
            LoginSession.revoked_at.is_(None))
        .values(revoked_at=now()).execution_options(synchronize_session=False))).rowcount
    session.flush()
    _audit(session, principal, "tenant.deactivated", "tenant", tenant.id, tenant.id,
           before=before, after=_tenant_facts(tenant) | {"sessions_ended": ended}, reason=why)
    return tenant


def reactivate_tenant(session: Session, *, principal: Principal, tenant_id: uuid.UUID,
                      at: datetime, reason: str | None = None) -> Tenant:
    """Open a closed dinas again: its active accounts (and their unrevoked tokens) work again."""
    require_platform_admin(principal)
    tenant = _tenant(session, tenant_id, for_update=True)
    if tenant.active:
        raise Conflict(f"{tenant.name} masih aktif.")
    before = _tenant_facts(tenant)
    tenant.active = True
    tenant.deactivated_at = None
    session.flush()
    _audit(session, principal, "tenant.reactivated", "tenant", tenant.id, tenant.id,
           before=before, after=_tenant_facts(tenant), reason=_reason(reason, required=False))
    return tenant


def reissue_activation(session: Session, *, principal: Principal, user_id: uuid.UUID,
                       at: datetime) -> Activation:
    """A new activation link (the earlier one stops working) for an account the platform_admin
    looks after: a city user, or a Kepala Dinas (whose dinas may have nobody else to do it)."""
    require_platform_admin(principal)
    user = session.get(User, user_id)
    if user is None or not (user.tenant_id is None or _is_head(user)):
        raise NotFound("Pengguna")
    if not user.active:
        raise Conflict(f"Akun {user.username} nonaktif: aktifkan dulu sebelum mengirim tautan "
                       "aktivasi.")
    return _activation(session, principal, user, at=at)


# -- city users and roles -------------------------------------------------------------------------

def list_city_users(session: Session, *, principal: Principal) -> list[User]:
    """Every account without a dinas, active ones first, by name."""
    require_platform_admin(principal)
    return list(session.scalars(select(User).where(User.tenant_id.is_(None))
                                .order_by(User.active.desc(), User.full_name, User.username)))


def get_city_user(session: Session, *, principal: Principal, user_id: uuid.UUID) -> User:
    require_platform_admin(principal)
    return _city_user(session, user_id)


def create_city_user(session: Session, *, principal: Principal, username: str, full_name: str,
                     email: str | None, roles: Iterable[Role | str], at: datetime,
                     nip: str | None = None) -> tuple[User, Activation]:
    """A city-level account holding `roles` (at least one city role), with its one-time
    activation link."""
    require_platform_admin(principal)
    wanted = list(dict.fromkeys(_city_role(role) for role in roles))
    if not wanted:
        raise InvalidField("roles", "Pilih minimal satu peran tingkat kota.")
    user = _new_user(session, username=username, full_name=full_name, email=email, nip=nip,
                     tenant_id=None, at=at)
    user.grants = [RoleGrant(role=role.value, tenant_id=None, created_at=at) for role in wanted]
    session.flush()
    _audit(session, principal, "user.created", "user", user.id, None,
           after=city_user_facts(user))
    return user, _activation(session, principal, user, at=at)


def grant_city_role(session: Session, *, principal: Principal, user_id: uuid.UUID,
                    role: Role | str, at: datetime) -> User:
    require_platform_admin(principal)
    user = _city_user(session, user_id)
    wanted = _city_role(role)
    if wanted in held_city_roles(user):
        raise Conflict(f"{user.full_name} sudah memegang peran {wanted.label}.")
    before = city_user_facts(user)
    user.grants.append(RoleGrant(role=wanted.value, tenant_id=None, created_at=at))
    session.flush()
    _audit(session, principal, "role.granted", "user", user.id, None,
           before=before, after=city_user_facts(user))
    return user


def revoke_city_role(session: Session, *, principal: Principal, user_id: uuid.UUID,
                     role: Role | str, at: datetime) -> User:
    """Take a city role away (never the last active platform_admin's)."""
    require_platform_admin(principal)
    user = _city_user(session, user_id)
    unwanted = _city_role(role)
    if unwanted not in held_city_roles(user):
        raise Conflict(f"{user.full_name} tidak memegang peran {unwanted.label}.")
    if unwanted is Role.PLATFORM_ADMIN:
        _keep_a_platform_admin(session, user, "dicabut perannya")
    before = city_user_facts(user)
    user.grants = [g for g in user.grants if not (g.role == unwanted.value
                                                  and g.tenant_id is None)]
    session.flush()
    _audit(session, principal, "role.revoked", "user", user.id, None,
           before=before, after=city_user_facts(user))
    return user


def deactivate_city_user(session: Session, *, principal: Principal, user_id: uuid.UUID,
                         at: datetime, reason: str | None = None) -> User:
    """Close a city account at once (its sessions end; its tokens and links stop working)."""
    require_platform_admin(principal)
    user = _city_user(session, user_id)
    if not user.active:
        raise Conflict(f"Akun {user.username} sudah nonaktif.")
    if user.id == principal.user_id:
        raise Conflict("Anda tidak dapat menonaktifkan akun Anda sendiri.")
    if Role.PLATFORM_ADMIN in held_city_roles(user):
        _keep_a_platform_admin(session, user, "dinonaktifkan")
    before = city_user_facts(user)
    user.active = False
    user.deactivated_at = at
    ended = revoke_all_sessions(session, user.id)
    session.flush()
    _audit(session, principal, "user.deactivated", "user", user.id, None, before=before,
           after=city_user_facts(user) | {"sessions_ended": ended},
           reason=_reason(reason, required=False))
    return user


def reactivate_city_user(session: Session, *, principal: Principal, user_id: uuid.UUID,
                         at: datetime, reason: str | None = None) -> User:
    require_platform_admin(principal)
    user = _city_user(session, user_id)
    if user.active:
        raise Conflict(f"Akun {user.username} masih aktif.")
    before = city_user_facts(user)
    user.active = True
    user.deactivated_at = None
    session.flush()
    _audit(session, principal, "user.reactivated", "user", user.id, None, before=before,
           after=city_user_facts(user), reason=_reason(reason, required=False))
    return user


def held_city_roles(user: User) -> list[Role]:
    held = {Role(g.role) for g in user.grants if g.tenant_id is None}
    return [role for role in CITY_ROLE_ORDER if role in held]


def city_user_facts(user: User) -> dict[str, Any]:
    return {"username": user.username, "full_name": user.full_name, "email": user.email,
            "nip": user.nip, "roles": [r.value for r in held_city_roles(user)],
            "active": user.active}


# -- helpers --------------------------------------------------------------------------------------

def _overviews(session: Session, tenants: list[Tenant]) -> list[TenantOverview]:
    ids = [t.id for t in tenants]
    counts: dict[uuid.UUID | None, tuple[int, int]] = {}
    heads: dict[uuid.UUID | None, list[User]] = {t: [] for t in ids}
    if ids:
        for tenant_id, total, active in session.execute(
                select(User.tenant_id, func.count(), func.count().filter(User.active.is_(True)))
                .where(User.tenant_id.in_(ids)).group_by(User.tenant_id)):
            counts[tenant_id] = (total, active)
        for tenant_id, user in session.execute(
                select(RoleGrant.tenant_id, User).join(User, User.id == RoleGrant.user_id)
                .where(RoleGrant.role == Role.KEPALA_DINAS.value, RoleGrant.tenant_id.in_(ids))
                .order_by(User.active.desc(), User.full_name)):
            heads[tenant_id].append(user)
    return [TenantOverview(tenant=t, users=counts.get(t.id, (0, 0))[0],
                           active_users=counts.get(t.id, (0, 0))[1], heads=heads[t.id])
            for t in tenants]


def _new_head(session: Session, principal: Principal, tenant: Tenant, *, username: str,
              full_name: str, email: str | None, nip: str | None,
              at: datetime) -> tuple[User, Activation]:
    user = _new_user(session, username=username, full_name=full_name, email=email, nip=nip,
                     tenant_id=tenant.id, at=at)
    user.grants = [RoleGrant(role=Role.KEPALA_DINAS.value, tenant_id=tenant.id, created_at=at)]
    session.flush()
    _audit(session, principal, "user.created", "user", user.id, tenant.id,
           after={"username": user.username, "full_name": user.full_name, "email": user.email,
                  "nip": user.nip, "role": Role.KEPALA_DINAS.value, "credential": "link"})
    return user, _activation(session, principal, user, at=at)


def _new_user(session: Session, *, username: str, full_name: str, email: str | None,
              nip: str | None, tenant_id: uuid.UUID | None, at: datetime) -> User:
    # The same rules as a dinas's own accounts (people.py): one username and NIP space.
    user = User(
        username=people.checked_username(session, username),
        full_name=people.checked_full_name(full_name),
        nip=people.checked_nip(session, nip),
        email=people.checked_email(email),
        tenant_id=tenant_id,
        # Nobody knows this password: the person sets their own through the activation link.
        password_hash=hash_password(secrets.token_urlsafe(32)),
        created_at=at,
    )
    session.add(user)
    return user


def _activation(session: Session, principal: Principal, user: User, *,
                at: datetime) -> Activation:
    try:
        token = issue_link(session, user=user, purpose=LinkPurpose.ACTIVATION,
                           created_by=principal.user_id, at=at)
    except LinkError as exc:
        raise Conflict(str(exc)) from None
    return Activation(token=token, expires_at=at + lifetime_of(LinkPurpose.ACTIVATION))


def _tenant(session: Session, tenant_id: uuid.UUID, *, for_update: bool = False) -> Tenant:
    query = select(Tenant).where(Tenant.id == tenant_id)
    tenant = session.scalars(query.with_for_update() if for_update else query).one_or_none()
    if tenant is None:
        raise NotFound("Perangkat daerah")
    return tenant


def _require_active(tenant: Tenant) -> None:
    if not tenant.active:
        raise Conflict(f"{tenant.name} nonaktif: aktifkan dulu perangkat daerah ini.")


def _city_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None or user.tenant_id is not None:
        raise NotFound("Pengguna tingkat kota")
    return user


def _is_head(user: User) -> bool:
    return any(g.role == Role.KEPALA_DINAS.value and g.tenant_id == user.tenant_id
               for g in user.grants)


def _city_role(role: Role | str) -> Role:
    try:
        found = Role(role)
    except ValueError:
        found = None
    if found is None or found not in CITY_ROLES:
        raise InvalidField("role", "Peran tingkat kota: Bagian Organisasi, Inspektur atau "
                                   "Administrator Platform.")
    return found


def _keep_a_platform_admin(session: Session, user: User, what: str) -> None:
    """The city keeps one active platform_admin. The platform_admin grants are locked first, so
    two administrators removing each other at the same moment cannot both succeed."""
    holders = session.scalars(
        select(RoleGrant.user_id).where(RoleGrant.role == Role.PLATFORM_ADMIN.value)
        .with_for_update()).all()
    others = session.scalar(select(func.count()).select_from(User).where(
        User.id.in_(set(holders) - {user.id}), User.active.is_(True))) if holders else 0
    if not others:
        raise Conflict(f"{user.full_name} adalah satu-satunya Administrator Platform yang aktif, "
                       f"sehingga tidak dapat {what}. Berikan peran itu kepada pengguna lain "
                       "terlebih dahulu.")


def _slug(session: Session, slug: str) -> str:
    cleaned = (slug or "").strip().lower()
    if not SLUG.fullmatch(cleaned):
        raise InvalidField("slug", "Kode singkat 2 sampai 64 karakter: huruf kecil, angka atau "
                                   "tanda hubung (tidak di awal atau akhir), mis. dinas-kesehatan.")
    if session.scalar(select(Tenant.id).where(Tenant.slug == cleaned)):
        raise InvalidField("slug", f"Kode singkat {cleaned} sudah dipakai perangkat daerah lain.")
    return cleaned


def _tenant_name(session: Session, name: str, *, renaming: Tenant | None = None) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise InvalidField("name", "Nama perangkat daerah wajib diisi.")
    if len(cleaned) > MAX_NAME:
        raise InvalidField("name", f"Nama perangkat daerah paling banyak {MAX_NAME} karakter.")
    clash = session.scalar(select(Tenant).where(func.lower(Tenant.name) == cleaned.lower()))
    if clash is not None and clash is not renaming:
        raise InvalidField("name", f"Perangkat daerah bernama {clash.name} sudah ada.")
    return cleaned


def _reason(reason: str | None, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if not text:
        if required:
            raise InvalidField("reason", "Alasan wajib diisi.")
        return None
    if len(text) > MAX_REASON:
        raise InvalidField("reason", f"Alasan paling panjang {MAX_REASON} karakter.")
    return text


def _tenant_facts(tenant: Tenant) -> dict[str, Any]:
    return {"slug": tenant.slug, "name": tenant.name, "active": tenant.active}


def _audit(session: Session, principal: Principal, action: str, target_type: str,
           target_id: object, tenant_id: uuid.UUID | None, *,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           reason: str | None = None) -> None:
    audit.record(session, service=SERVICE, action=action, target_type=target_type,
                 target_id=target_id, tenant_id=tenant_id, actor_user_id=principal.user_id,
                 before=before, after=after, reason=reason)
