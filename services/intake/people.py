"""A dinas's people as its administrators keep them: Bidang (create, rename, close, reopen), user
accounts (create with a one-time activation link or a temporary password, change, move between
Bidang, deactivate, reactivate, reset the password), acting officials (Plt/Plh) for a date range,
and the kepala_dinas's delegation of the administration to the kasubbag_program.

Who may: `shared.identity.admin_scope` (another dinas is a 404, a member without the right a
403). What a delegated kasubbag_program must not touch: the Kepala Dinas role and the accounts
holding it (else the delegation would be a way to take the dinas over). A dinas always keeps
one active Kepala Dinas: the last one can be neither deactivated nor given another role (409).

Every function works inside the caller's transaction, audits each change with its before and
after, and raises the shared.web.errors refusals with Indonesian messages (`InvalidField`, a
422, names the field at fault). The bulk import (`people_import`) goes through these same
functions.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, Final, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shared import audit
from shared.identity.account_links import (
    ACTIVATION_LIFETIME,
    RESET_LIFETIME,
    TEMPORARY_PASSWORD_LIFETIME,
    LinkError,
    issue_link,
    issue_temporary_password,
)
from shared.identity.admin_scope import require_administrator, require_head
from shared.identity.loading import local_day
from shared.identity.models import (
    AccountLink,
    ActingAssignment,
    ApiToken,
    Bidang,
    LinkPurpose,
    RoleGrant,
    Tenant,
    User,
)
from shared.identity.passwords import hash_password
from shared.identity.principal import Principal
from shared.identity.roles import TENANT_ROLES, Role
from shared.identity.sessions import revoke_all_sessions
from shared.web.errors import Conflict, Invalid, NotFound

SERVICE = "intake"
CredentialKind = Literal["link", "temporary"]
CREDENTIAL_KINDS: tuple[CredentialKind, ...] = ("link", "temporary")
ActingKind = Literal["plt", "plh"]
ACTING_KINDS: tuple[ActingKind, ...] = ("plt", "plh")
ACTING_LABELS = {"plt": "Plt", "plh": "Plh"}
# Roles an acting official may hold: a Bidang's staff are people of that Bidang, not a post.
ACTING_ROLES = (Role.KEPALA_DINAS, Role.KASUBBAG_PROGRAM, Role.TIM_EVALUASI)
MAX_NAME = 255
MAX_REASON = 2000
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,127}$")
NIP = re.compile(r"^\d{18}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET  # "leave this field as it is" in update_person


class InvalidField(Invalid):
    """A 422 naming the field at fault (the API answers it under `fields`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Credential:
    """What the administrator hands to the person, shown once: an activation or reset link's
    token (`kind` "link") or a temporary password (`kind` "temporary")."""

    kind: CredentialKind
    secret: str
    expires_at: datetime


# -- Bidang ---------------------------------------------------------------------------------------

def list_bidang(session: Session, *, principal: Principal,
                tenant_id: uuid.UUID) -> list[Bidang]:
    """Every Bidang of the dinas, open ones first, by name."""
    require_administrator(session, principal, tenant_id)
    return list(session.scalars(select(Bidang).where(Bidang.tenant_id == tenant_id)
                                .order_by(Bidang.closed_at.is_not(None), Bidang.name)))


def create_bidang(session: Session, *, principal: Principal, tenant_id: uuid.UUID, name: str,
                  at: datetime) -> Bidang:
    require_administrator(session, principal, tenant_id)
    name = _bidang_name(session, tenant_id, name)
    bidang = Bidang(tenant_id=tenant_id, name=name, created_at=at)
    session.add(bidang)
    session.flush()
    _audit(session, principal, "bidang.created", "bidang", bidang.id, tenant_id,
           after=_bidang_facts(bidang))
    return bidang


def rename_bidang(session: Session, *, principal: Principal, tenant_id: uuid.UUID,
                  bidang_id: uuid.UUID, name: str, at: datetime) -> Bidang:
    bidang = _administered_bidang(session, principal, tenant_id, bidang_id)
    name = _bidang_name(session, tenant_id, name, renaming=bidang)
    if name == bidang.name:
        return bidang
    before = _bidang_facts(bidang)
    bidang.name = name
    session.flush()
    _audit(session, principal, "bidang.renamed", "bidang", bidang.id, tenant_id,
           before=before, after=_bidang_facts(bidang))
    return bidang


def close_bidang(session: Session, *, principal: Principal, tenant_id: uuid.UUID,
                 bidang_id: uuid.UUID, at: datetime) -> Bidang:
    """A closed Bidang owes nothing in cycles opened after today; its packages, documents and
    users stay as they are (its staff can be moved to another Bidang)."""
    bidang = _administered_bidang(session, principal, tenant_id, bidang_id)
    if bidang.closed_at is not None:
        raise Conflict(f"Bidang {bidang.name} sudah ditutup.")
    before = _bidang_facts(bidang)
    bidang.closed_at = at
    session.flush()
    _audit(session, principal, "bidang.closed", "bidang", bidang.id, tenant_id,
           before=before, after=_bidang_facts(bidang))
    return bidang


def reopen_bidang(session: Session, *, principal: Principal, tenant_id: uuid.UUID,
                  bidang_id: uuid.UUID, at: datetime) -> Bidang:
    bidang = _administered_bidang(session, principal, tenant_id, bidang_id)
    if bidang.closed_at is None:
        raise Conflict(f"Bidang {bidang.name} masih terbuka.")
    before = _bidang_facts(bidang)
    bidang.closed_at = None
    session.flush()
    _audit(session, principal, "bidang.reopened", "bidang", bidang.id, tenant_id,
           before=before, after=_bidang_facts(bidang))
    return bidang


def _administered_bidang(session: Session, principal: Principal, tenant_id: uuid.UUID,
                         bidang_id: uuid.UUID) -> Bidang:
    require_administrator(session, principal, tenant_id)
    bidang = session.get(Bidang, bidang_id)
    if bidang is None or bidang.tenant_id != tenant_id:
        raise NotFound("Bidang")
    return bidang


def _bidang_name(session: Session, tenant_id: uuid.UUID, name: str, *,
                 renaming: Bidang | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidField("name", "Nama Bidang wajib diisi.")
    if len(name) > MAX_NAME:
        raise InvalidField("name", f"Nama Bidang paling banyak {MAX_NAME} karakter.")
    clash = session.scalar(select(Bidang).where(
        Bidang.tenant_id == tenant_id, func.lower(Bidang.name) == name.lower()))
    if clash is not None and clash is not renaming:
        raise InvalidField("name", f"Bidang bernama {clash.name} sudah ada di dinas ini.")
    return name


def _bidang_facts(bidang: Bidang) -> dict[str, Any]:
    return {"name": bidang.name,
            "closed_at": bidang.closed_at.isoformat() if bidang.closed_at else None}


# -- users ----------------------------------------------------------------------------------------

def list_people(session: Session, *, principal: Principal,
                tenant_id: uuid.UUID) -> list[User]:
    """Every account of the dinas, active ones first, by name."""
    require_administrator(session, principal, tenant_id)
    return list(session.scalars(select(User).where(User.tenant_id == tenant_id)
                                .order_by(User.active.desc(), User.full_name, User.username)))


def get_person(session: Session, *, principal: Principal, user_id: uuid.UUID) -> User:
    """A user of a dinas the principal administers (another dinas's user: NotFound)."""
    user = session.get(User, user_id)
    if user is None or user.tenant_id is None or user.tenant_id not in principal.tenant_ids:
        raise NotFound("Pengguna")
    require_administrator(session, principal, user.tenant_id)
    return user


def tenant_role(user: User) -> Role | None:
    """The role a user holds in their own dinas (the highest, should they hold several)."""
    held = {Role(g.role) for g in user.grants if g.tenant_id == user.tenant_id}
    return next((r for r in _ROLE_ORDER if r in held), None)


_ROLE_ORDER = (Role.KEPALA_DINAS, Role.KASUBBAG_PROGRAM, Role.TIM_EVALUASI, Role.BIDANG_STAFF)


def create_person(
    session: Session,
    *,
    principal: Principal,
    tenant_id: uuid.UUID,
    username: str,
    full_name: str,
    nip: str | None,
    email: str | None,
    role: Role,
    bidang_id: uuid.UUID | None,
    at: datetime,
    credential: CredentialKind = "link",
) -> tuple[User, Credential]:
    """A new account of the dinas, with no password anyone knows yet: the returned credential
    (an activation link's token, or a temporary password to change at the first login) is
    shown once to the administrator, who hands it to the person."""
    require_administrator(session, principal, tenant_id)
    if credential not in CREDENTIAL_KINDS:
        raise InvalidField("credential", "Pilih tautan aktivasi atau kata sandi sementara.")
    role = _tenant_role(role)
    if role is Role.KEPALA_DINAS:
        require_head(session, principal, tenant_id, "membuat akun Kepala Dinas")
    user = User(
        username=checked_username(session, username),
        full_name=checked_full_name(full_name),
        nip=checked_nip(session, nip),
        email=checked_email(email),
        tenant_id=tenant_id,
        bidang_id=_bidang_for(session, tenant_id, role, bidang_id),
        # Nobody knows this password: the person sets their own through the credential.
        password_hash=hash_password(secrets.token_urlsafe(32)),
        created_at=at,
    )
    user.grants = [RoleGrant(role=role.value, tenant_id=tenant_id, created_at=at)]
    session.add(user)
    session.flush()
    _audit(session, principal, "user.created", "user", user.id, tenant_id,
           after=_person_facts(user) | {"credential": credential})
    purpose = LinkPurpose.ACTIVATION
    return user, _issue(session, principal, user, credential, purpose=purpose, at=at)


def update_person(
    session: Session,
    *,
    principal: Principal,
    user_id: uuid.UUID,
    full_name: str | _Unset = UNSET,
    email: str | _Unset | None = UNSET,
    nip: str | _Unset | None = UNSET,
    role: Role | _Unset = UNSET,
    bidang_id: uuid.UUID | _Unset | None = UNSET,
    at: datetime,
) -> User:
    """Change what is given (UNSET: leave it); nothing given or nothing different writes
    nothing. A bidang_staff needs an open Bidang of the dinas; moving someone into a Bidang
    takes effect at their next request (the principal is rebuilt on each)."""
    user = get_person(session, principal=principal, user_id=user_id)
    tenant_id = _tenant_of(user)
    before = _person_facts(user)
    current_role = tenant_role(user)
    if current_role is Role.KEPALA_DINAS:
        require_head(session, principal, tenant_id, "mengubah akun Kepala Dinas")
    if full_name is not UNSET:
        user.full_name = checked_full_name(full_name)
    if email is not UNSET:
        user.email = checked_email(email)
    if nip is not UNSET:
        user.nip = checked_nip(session, nip, holder=user)
    new_role = current_role
    if role is not UNSET and _tenant_role(role) is not current_role:
        new_role = _tenant_role(role)
        if new_role is Role.KEPALA_DINAS:
            require_head(session, principal, tenant_id, "memberikan peran Kepala Dinas")
        if current_role is Role.KEPALA_DINAS:
            _keep_a_head(session, user, "diberi peran lain")
        user.grants = [g for g in user.grants if g.tenant_id != tenant_id] + [
            RoleGrant(role=new_role.value, tenant_id=tenant_id, created_at=at)]
    if new_role is not None and (bidang_id is not UNSET or new_role is not current_role):
        wanted = user.bidang_id if bidang_id is UNSET else bidang_id
        user.bidang_id = _bidang_for(session, tenant_id, new_role, wanted,
                                     keeping=user.bidang_id)
    session.flush()
    after = _person_facts(user)
    if after != before:
        _audit(session, principal, "user.updated", "user", user.id, tenant_id,
               before=_changed(before, after), after=_changed(after, before))
    return user


def deactivate_person(session: Session, *, principal: Principal, user_id: uuid.UUID,
                      at: datetime, reason: str | None = None) -> User:
    """Close the account at once: its login sessions, personal API tokens and outstanding
    account links end in the same transaction. Its history (uploads, reviews, audit) stays."""
    user = get_person(session, principal=principal, user_id=user_id)
    tenant_id = _tenant_of(user)
    if not user.active:
        raise Conflict(f"Akun {user.username} sudah nonaktif.")
    if user.id == principal.user_id:
        raise Conflict("Anda tidak dapat menonaktifkan akun Anda sendiri.")
    if tenant_role(user) is Role.KEPALA_DINAS:
        require_head(session, principal, tenant_id, "menonaktifkan akun Kepala Dinas")
        _keep_a_head(session, user, "dinonaktifkan")
    before = _person_facts(user)
    user.active = False
    user.deactivated_at = at
    sessions_ended = revoke_all_sessions(session, user.id)
    tokens_revoked = _rows(session, update(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=at))
    links_revoked = _rows(session, update(AccountLink).where(
        AccountLink.user_id == user.id, AccountLink.used_at.is_(None),
        AccountLink.revoked_at.is_(None)).values(revoked_at=at))
    session.flush()
    _audit(session, principal, "user.deactivated", "user", user.id, tenant_id,
           before=before, after=_person_facts(user) | {
               "sessions_ended": sessions_ended, "tokens_revoked": tokens_revoked,
               "links_revoked": links_revoked}, reason=_optional_reason(reason))
    return user


def reactivate_person(session: Session, *, principal: Principal, user_id: uuid.UUID,
                      at: datetime, reason: str | None = None) -> User:
    """Open a closed account again. Its tokens stay revoked; its password works again (reset
    it when the person should choose a new one)."""
    user = get_person(session, principal=principal, user_id=user_id)
    tenant_id = _tenant_of(user)
    if user.active:
        raise Conflict(f"Akun {user.username} masih aktif.")
    if tenant_role(user) is Role.KEPALA_DINAS:
        require_head(session, principal, tenant_id, "mengaktifkan kembali akun Kepala Dinas")
    before = _person_facts(user)
    user.active = True
    user.deactivated_at = None
    session.flush()
    _audit(session, principal, "user.reactivated", "user", user.id, tenant_id,
           before=before, after=_person_facts(user), reason=_optional_reason(reason))
    return user


def reset_password(session: Session, *, principal: Principal, user_id: uuid.UUID,
                   method: CredentialKind, at: datetime) -> Credential:
    """A one-time reset link (the current password keeps working until the link is used) or a
    temporary password (replacing the current one at once, sessions ended), shown once."""
    user = get_person(session, principal=principal, user_id=user_id)
    tenant_id = _tenant_of(user)
    if method not in CREDENTIAL_KINDS:
        raise InvalidField("method", "Pilih tautan atur ulang atau kata sandi sementara.")
    if tenant_role(user) is Role.KEPALA_DINAS and user.id != principal.user_id:
        require_head(session, principal, tenant_id, "mengatur ulang kata sandi Kepala Dinas")
    if not user.active:
        raise Conflict(f"Akun {user.username} nonaktif: aktifkan dulu sebelum mengatur ulang "
                       "kata sandinya.")
    _audit(session, principal, "user.password_reset", "user", user.id, tenant_id,
           after={"method": method})
    return _issue(session, principal, user, method, purpose=LinkPurpose.RESET, at=at)


def _issue(session: Session, principal: Principal, user: User, kind: CredentialKind, *,
           purpose: LinkPurpose, at: datetime) -> Credential:
    try:
        if kind == "link":
            token = issue_link(session, user=user, purpose=purpose,
                               created_by=principal.user_id, at=at)
            lifetime = ACTIVATION_LIFETIME if purpose is LinkPurpose.ACTIVATION \
                else RESET_LIFETIME
            return Credential("link", token, at + lifetime)
        password = issue_temporary_password(session, user=user, created_by=principal.user_id,
                                            at=at)
    except LinkError as exc:
        raise Conflict(str(exc)) from None
    return Credential("temporary", password,
                      user.password_expires_at or at + TEMPORARY_PASSWORD_LIFETIME)


def _keep_a_head(session: Session, user: User, what: str) -> None:
    """Refuse to take the role or the account away from the dinas's last active head."""
    if not user.active:
        return
    others = session.scalar(
        select(func.count()).select_from(RoleGrant).join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.role == Role.KEPALA_DINAS.value, RoleGrant.tenant_id == user.tenant_id,
               User.active.is_(True), User.id != user.id))
    if not others:
        raise Conflict(f"{user.full_name} adalah satu-satunya Kepala Dinas yang aktif di dinas "
                       f"ini, sehingga tidak dapat {what}. Buat atau tetapkan Kepala Dinas lain "
                       "terlebih dahulu.")


def _tenant_of(user: User) -> uuid.UUID:
    if user.tenant_id is None:  # pragma: no cover - get_person finds tenant users only
        raise NotFound("Pengguna")
    return user.tenant_id


def _tenant_role(role: Role | str) -> Role:
    try:
        found = Role(role)
    except ValueError:
        found = None
    if found is None or found not in TENANT_ROLES:
        raise InvalidField("role", "Peran tidak dikenal untuk pengguna dinas.")
    return found


def checked_username(session: Session, username: str) -> str:
    username = (username or "").strip().lower()
    if not USERNAME.fullmatch(username):
        raise InvalidField("username", "Nama pengguna 3 sampai 128 karakter: huruf kecil, angka, "
                                       "titik, garis bawah atau tanda hubung.")
    if session.scalar(select(User.id).where(func.lower(User.username) == username)):
        raise InvalidField("username", f"Nama pengguna {username} sudah dipakai.")
    return username


def checked_full_name(full_name: str) -> str:
    full_name = " ".join((full_name or "").split())
    if not full_name:
        raise InvalidField("full_name", "Nama lengkap wajib diisi.")
    if len(full_name) > MAX_NAME:
        raise InvalidField("full_name", f"Nama lengkap paling banyak {MAX_NAME} karakter.")
    return full_name


def normalize_nip(nip: str | None) -> str | None:
    """A NIP as stored: its 18 digits, without the spaces it is often written with."""
    cleaned = "".join((nip or "").split())
    return cleaned or None


def checked_nip(session: Session, nip: str | None, *, holder: User | None = None) -> str | None:
    cleaned = normalize_nip(nip)
    if cleaned is None:
        return None
    if not NIP.fullmatch(cleaned):
        raise InvalidField("nip", "NIP terdiri dari 18 angka.")
    clash = session.scalar(select(User).where(User.nip == cleaned))
    if clash is not None and clash is not holder:
        raise InvalidField("nip", f"NIP {cleaned} sudah dipakai oleh pengguna lain.")
    return cleaned


def checked_email(email: str | None) -> str | None:
    cleaned = (email or "").strip()
    if not cleaned:
        return None
    if len(cleaned) > MAX_NAME or not EMAIL.fullmatch(cleaned):
        raise InvalidField("email", "Alamat e-mail tidak valid.")
    return cleaned


def _bidang_for(session: Session, tenant_id: uuid.UUID, role: Role, bidang_id: uuid.UUID | None,
                *, keeping: uuid.UUID | None = None) -> uuid.UUID | None:
    """The Bidang a user of `role` is placed in: an open Bidang of the dinas (a staff member
    may stay in the closed Bidang they are in already)."""
    if bidang_id is None:
        if role is Role.BIDANG_STAFF:
            raise InvalidField("bidang_id", "Staf Bidang harus terikat pada satu Bidang.")
        return None
    bidang = session.get(Bidang, bidang_id)
    if bidang is None or bidang.tenant_id != tenant_id:
        raise InvalidField("bidang_id", "Bidang tidak ditemukan di dinas ini.")
    if bidang.closed_at is not None and bidang.id != keeping:
        raise InvalidField("bidang_id", f"Bidang {bidang.name} sudah ditutup.")
    return bidang.id


def _person_facts(user: User) -> dict[str, Any]:
    role = tenant_role(user)
    return {"username": user.username, "full_name": user.full_name, "email": user.email,
            "nip": user.nip, "role": role.value if role else None,
            "bidang_id": str(user.bidang_id) if user.bidang_id else None,
            "active": user.active}


def _changed(facts: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Only the fields that differ (and the username, to say whose account it is)."""
    return {k: v for k, v in facts.items() if k == "username" or other.get(k) != v}


# -- acting officials (Plt/Plh) -------------------------------------------------------------------

def list_acting(session: Session, *, principal: Principal,
                tenant_id: uuid.UUID) -> list[ActingAssignment]:
    """The dinas's acting assignments, latest start first (revoked ones included)."""
    require_administrator(session, principal, tenant_id)
    return list(session.scalars(select(ActingAssignment)
                                .where(ActingAssignment.tenant_id == tenant_id)
                                .order_by(ActingAssignment.starts_on.desc(),
                                          ActingAssignment.created_at.desc())))


def assign_acting(
    session: Session,
    *,
    principal: Principal,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    role: Role,
    kind: ActingKind,
    starts_on: date,
    ends_on: date,
    reason: str,
    at: datetime,
) -> ActingAssignment:
    """Let an active user of the dinas hold `role` from `starts_on` to `ends_on` (inclusive,
    local dates) besides their own: they act with its rights and receive its reminders and
    escalations on those days. One acting official per role at a time."""
    require_administrator(session, principal, tenant_id)
    acting_role = _tenant_role(role)
    if acting_role not in ACTING_ROLES:
        raise InvalidField("role", "Plt/Plh hanya untuk Kepala Dinas, Kasubbag Program atau "
                                   "Tim Evaluasi.")
    if acting_role is Role.KEPALA_DINAS:
        require_head(session, principal, tenant_id, "menunjuk Plt/Plh Kepala Dinas")
    if kind not in ACTING_KINDS:
        raise InvalidField("kind", "Jenis penunjukan: plt atau plh.")
    if ends_on < starts_on:
        raise InvalidField("ends_on", "Tanggal selesai tidak boleh sebelum tanggal mulai.")
    if ends_on < local_day(at):
        raise InvalidField("ends_on", "Tanggal selesai sudah lewat.")
    reason = _required_reason(reason)
    user = session.get(User, user_id)
    if user is None or user.tenant_id != tenant_id or not user.active:
        raise InvalidField("user_id", "Pengguna aktif dinas ini tidak ditemukan.")
    if any(g.role == acting_role.value and g.tenant_id == tenant_id for g in user.grants):
        raise InvalidField("user_id", f"{user.full_name} sudah memegang peran "
                                      f"{acting_role.label}.")
    overlapping = session.scalar(select(ActingAssignment).where(
        ActingAssignment.tenant_id == tenant_id, ActingAssignment.role == acting_role.value,
        ActingAssignment.revoked_at.is_(None), ActingAssignment.starts_on <= ends_on,
        ActingAssignment.ends_on >= starts_on).limit(1))
    if overlapping is not None:
        raise Conflict(f"Sudah ada {ACTING_LABELS[overlapping.kind]} {acting_role.label} dari "
                       f"{overlapping.starts_on.isoformat()} sampai "
                       f"{overlapping.ends_on.isoformat()}; cabut dulu penunjukan itu.")
    assignment = ActingAssignment(
        user_id=user.id, role=acting_role.value, tenant_id=tenant_id, kind=kind,
        starts_on=starts_on, ends_on=ends_on, reason=reason, assigned_by=principal.user_id,
        created_at=at)
    session.add(assignment)
    session.flush()
    _audit(session, principal, "acting.assigned", "acting_assignment", assignment.id,
           tenant_id, after=_acting_facts(assignment, user), reason=reason)
    return assignment


def revoke_acting(session: Session, *, principal: Principal, tenant_id: uuid.UUID,
                  assignment_id: uuid.UUID, at: datetime,
                  reason: str | None = None) -> ActingAssignment:
    """End an acting assignment now (its past days stay on record)."""
    require_administrator(session, principal, tenant_id)
    assignment = session.get(ActingAssignment, assignment_id)
    if assignment is None or assignment.tenant_id != tenant_id:
        raise NotFound("Penunjukan Plt/Plh")
    if assignment.role == Role.KEPALA_DINAS.value:
        require_head(session, principal, tenant_id, "mencabut Plt/Plh Kepala Dinas")
    if assignment.revoked_at is not None:
        raise Conflict("Penunjukan ini sudah dicabut.")
    user = session.get_one(User, assignment.user_id)
    before = _acting_facts(assignment, user)
    assignment.revoked_at = at
    session.flush()
    _audit(session, principal, "acting.revoked", "acting_assignment", assignment.id, tenant_id,
           before=before, after=_acting_facts(assignment, user),
           reason=_optional_reason(reason))
    return assignment


def _acting_facts(assignment: ActingAssignment, user: User) -> dict[str, Any]:
    return {"user_id": str(user.id), "username": user.username, "role": assignment.role,
            "kind": assignment.kind, "starts_on": assignment.starts_on.isoformat(),
            "ends_on": assignment.ends_on.isoformat(),
            "revoked_at": assignment.revoked_at.isoformat() if assignment.revoked_at else None}


# -- delegation -----------------------------------------------------------------------------------

def set_delegation(session: Session, *, principal: Principal, tenant_id: uuid.UUID,
                   delegated: bool, at: datetime) -> Tenant:
    """The kepala_dinas lets the kasubbag_program administer the dinas too (or stops it)."""
    tenant = require_head(session, principal, tenant_id, "mengatur delegasi administrasi")
    if tenant.admin_delegated == delegated:
        return tenant
    before = {"admin_delegated": tenant.admin_delegated}
    tenant.admin_delegated = delegated
    session.flush()
    _audit(session, principal, "tenant.admin_delegation", "tenant", tenant.id, tenant.id,
           before=before, after={"admin_delegated": delegated})
    return tenant


# -- plumbing -------------------------------------------------------------------------------------

def _required_reason(reason: str | None) -> str:
    cleaned = (reason or "").strip()
    if not cleaned:
        raise InvalidField("reason", "Dasar penunjukan (mis. nomor surat perintah) wajib "
                                     "diisi.")
    if len(cleaned) > MAX_REASON:
        raise InvalidField("reason", f"Alasan paling banyak {MAX_REASON} karakter.")
    return cleaned


def _optional_reason(reason: str | None) -> str | None:
    cleaned = (reason or "").strip()
    if len(cleaned) > MAX_REASON:
        raise InvalidField("reason", f"Alasan paling banyak {MAX_REASON} karakter.")
    return cleaned or None


def _rows(session: Session, stmt: Any) -> int:
    result = session.execute(stmt.execution_options(synchronize_session="fetch"))
    return int(getattr(result, "rowcount", 0))


def _audit(session: Session, principal: Principal, action: str, target_type: str,
           target_id: uuid.UUID, tenant_id: uuid.UUID, *, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, reason: str | None = None) -> None:
    audit.record(session, service=SERVICE, action=action, target_type=target_type,
                 target_id=target_id, tenant_id=tenant_id, actor_user_id=principal.user_id,
                 before=before, after=after, reason=reason)
