"""The audit log as administrators read it: who did what, before and after, why and when.

Every service writes its own rows into the one `audit_log` table (shared.audit), each naming the
dinas it concerns. A dinas's administrators (its kepala_dinas, or its kasubbag_program when
delegated: `shared.identity.admin_scope`) read the rows of their dinas, from every service; the
platform_admin reads every row, the city's own (no dinas) included. Nobody else reads it here.

Newest first, in pages: a page ends with the id to continue below (`before`), so a row written
while someone pages never shifts what they see.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from shared.audit import AuditEntry
from shared.calendar import DEFAULT_TIME_ZONE
from shared.identity.admin_scope import administered_tenants, require_administrator
from shared.identity.models import Tenant, User
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.web.errors import Invalid, NotAllowed

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
READERS_MESSAGE = ("Hanya Kepala Dinas (atau Kasubbag Program yang diberi delegasi) dan "
                   "Administrator Platform yang dapat melihat log audit.")
ZONE = ZoneInfo(DEFAULT_TIME_ZONE)  # the log is shown in WIB

ACTION_LABELS = {
    "tenant.created": "Perangkat daerah dibuat",
    "tenant.renamed": "Perangkat daerah diganti namanya",
    "tenant.deactivated": "Perangkat daerah dinonaktifkan",
    "tenant.reactivated": "Perangkat daerah diaktifkan kembali",
    "tenant.admin_delegation": "Delegasi administrasi dinas diubah",
    "user.created": "Akun dibuat",
    "user.updated": "Akun diubah",
    "user.deactivated": "Akun dinonaktifkan",
    "user.reactivated": "Akun diaktifkan kembali",
    "user.password_reset": "Kata sandi diatur ulang",
    "role.granted": "Peran diberikan",
    "role.revoked": "Peran dicabut",
    "acting.assigned": "Plt/Plh ditetapkan",
    "acting.revoked": "Plt/Plh dicabut",
    "bidang.created": "Bidang dibuat",
    "bidang.renamed": "Bidang diganti namanya",
    "bidang.closed": "Bidang ditutup",
    "bidang.reopened": "Bidang dibuka kembali",
    "people_import.previewed": "Impor pengguna dipratinjau",
    "people_import.applied": "Impor pengguna diterapkan",
    "account_link.issued": "Tautan akun diterbitkan",
    "account_link.used": "Tautan akun dipakai",
    "password.changed": "Kata sandi diganti",
    "password.change_failed": "Penggantian kata sandi gagal",
    "password.temporary_issued": "Kata sandi sementara diterbitkan",
    "api_token.created": "Token API dibuat",
    "api_token.revoked": "Token API dicabut",
    "session.revoked": "Sesi diakhiri",
    "session.revoked_others": "Sesi lain diakhiri",
    "login": "Masuk",
    "login.failed": "Gagal masuk",
    "logout": "Keluar",
    "template.published": "Templat SOP diterbitkan",
    "template.targets_changed": "Tujuan templat SOP diubah",
    "rubric.published": "Rubrik LKE diterbitkan",
    "rubric.targets_changed": "Tujuan rubrik LKE diubah",
    "calendar.office_hours_set": "Jam kerja diubah",
    "calendar.holiday_added": "Hari libur ditambahkan",
    "calendar.holiday_removed": "Hari libur dihapus",
    "cycle.opened": "Siklus dibuka",
    "cycle.completed": "Siklus selesai",
    "cycle.cancelled": "Siklus dibatalkan",
    "cycle.reopened": "Siklus dibuka kembali",
    "cycle.document_list_set": "Daftar dokumen ditetapkan",
    "step.started": "Langkah dimulai",
    "step.completed": "Langkah selesai",
    "step.reopened": "Langkah dibuka kembali",
    "step.extended": "Perpanjangan diberikan",
    "step.deadline_recomputed": "Batas waktu langkah dihitung ulang",
    "step.notice_sent": "Pemberitahuan dikirim",
    "collection.closed": "Pengumpulan ditutup",
    "document.downloaded": "Dokumen diunduh",
    "cycle_document.uploaded": "Dokumen siklus diunggah",
    "cycle_document.downloaded": "Dokumen siklus diunduh",
    "evaluation.created": "LKE dibuat",
    "evaluation.saved": "LKE disimpan",
}


@dataclass(frozen=True)
class AuditQuery:
    """What the reader asks for; every field narrows (None: no filter). `action` is one action,
    or every action starting with it when it ends with "." or "*" (e.g. "tenant.")."""

    tenant_id: uuid.UUID | None = None
    action: str | None = None
    service: str | None = None
    actor_id: uuid.UUID | None = None
    since: date | None = None  # local (WIB) dates, both inclusive
    until: date | None = None
    before: int | None = None  # continue below this entry id
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class AuditRow:
    id: int
    occurred_at: datetime
    tenant_id: uuid.UUID | None
    tenant_name: str | None
    actor_user_id: uuid.UUID | None
    actor_name: str  # the person's name, or "sistem"/"anonim" for the rest
    actor_username: str | None
    action: str
    action_label: str
    target_type: str
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    service: str


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditRow]
    next_before: int | None  # None: this was the last page


def readable_tenants(session: Session, principal: Principal) -> list[Tenant] | None:
    """The dinas whose entries the principal reads; None for the platform_admin (every entry).
    NotAllowed for someone who administers nothing."""
    if principal.has_role(Role.PLATFORM_ADMIN):
        return None
    tenants = administered_tenants(session, principal)
    if not tenants:
        raise NotAllowed(READERS_MESSAGE)
    return tenants


def read_audit(session: Session, *, principal: Principal, query: AuditQuery) -> AuditPage:
    """One page of the entries the principal may read that match `query`, newest first.
    A dinas outside the principal's is not found (404); one they belong to but do not
    administer is refused (403)."""
    readable = readable_tenants(session, principal)
    if query.tenant_id is not None and readable is not None:
        require_administrator(session, principal, query.tenant_id)
    if query.since and query.until and query.since > query.until:
        raise Invalid("Tanggal awal harus sebelum atau sama dengan tanggal akhir.")
    stmt = _filtered(select(AuditEntry), readable, query)
    limit = max(1, min(query.limit, MAX_LIMIT))
    rows = list(session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(entries=_described(session, rows),
                     next_before=rows[-1].id if more and rows else None)


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def _filtered(stmt: Select[Any], readable: list[Tenant] | None,
              query: AuditQuery) -> Select[Any]:
    if readable is not None:
        stmt = stmt.where(AuditEntry.tenant_id.in_([t.id for t in readable]))
    if query.tenant_id is not None:
        stmt = stmt.where(AuditEntry.tenant_id == query.tenant_id)
    if query.action:
        action = query.action.strip()
        if action.endswith(("*", ".")):
            prefix = action.rstrip("*")
            stmt = stmt.where(AuditEntry.action.startswith(prefix, autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == action)
    if query.service:
        stmt = stmt.where(AuditEntry.service == query.service.strip())
    if query.actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_user_id == query.actor_id)
    if query.since is not None:
        stmt = stmt.where(AuditEntry.occurred_at >= _start_of(query.since))
    if query.until is not None:
        stmt = stmt.where(AuditEntry.occurred_at < _start_of(query.until + timedelta(days=1)))
    if query.before is not None:
        stmt = stmt.where(AuditEntry.id < query.before)
    return stmt


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZONE)


def _described(session: Session, rows: list[AuditEntry]) -> list[AuditRow]:
    """The rows with the names of their people and dinas (two queries for the page)."""
    user_ids = {r.actor_user_id for r in rows if r.actor_user_id is not None}
    tenant_ids = {r.tenant_id for r in rows if r.tenant_id is not None}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))} \
        if user_ids else {}
    tenants = dict(session.execute(select(Tenant.id, Tenant.name).where(
        Tenant.id.in_(tenant_ids))).all()) if tenant_ids else {}
    return [AuditRow(
        id=r.id, occurred_at=r.occurred_at, tenant_id=r.tenant_id,
        tenant_name=tenants.get(r.tenant_id) if r.tenant_id else None,
        actor_user_id=r.actor_user_id,
        actor_name=_actor_name(r, users.get(r.actor_user_id) if r.actor_user_id else None),
        actor_username=users[r.actor_user_id].username
        if r.actor_user_id in users else None,
        action=r.action, action_label=action_label(r.action), target_type=r.target_type,
        target_id=r.target_id, before=r.before, after=r.after, reason=r.reason,
        service=r.service) for r in rows]


def _actor_name(entry: AuditEntry, user: User | None) -> str:
    if user is not None:
        return user.full_name
    if entry.actor.startswith("anonymous"):
        return "anonim"
    if entry.actor.startswith("system"):
        return "sistem"
    return entry.actor

