"""Bulk import of a dinas's Bidang and people from a CSV or XLSX file: `preview` reads the file
(`people_import_file`), plans it against the dinas (`people_import_plan`) and stores both as an
`ImportBatch` -- a dry run that changes nothing else; `apply` then carries out exactly that plan,
once.

Exactly: `apply` plans the stored rows again against the dinas as it is now and refuses (409)
when that differs from the stored plan, so what the administrator saw is what happens, or nothing
does. Changes go through `people` (the same rules, audits and activation links as one-by-one
administration); applying the same file again plans every row `unchanged`. The preview and the
apply are audited, and each person and Bidang created or changed by `people` as well.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.intake import people
from services.intake.filetypes import FileKind, sanitize_filename
from services.intake.people_import_file import (
    BIDANG,
    EMAIL,
    FULL_NAME,
    NIP,
    ROLE,
    ImportFileError,
    SourceFile,
    SourceRow,
    read_people_file,
)
from services.intake.people_import_plan import (
    ACTION_LABELS,
    CHANGE,
    CREATE,
    PERSON,
    Directory,
    KnownBidang,
    KnownPerson,
    bidang_key,
    plan_import,
    wanted_username,
)
from shared import audit
from shared.identity.admin_scope import require_administrator
from shared.identity.models import Bidang, ImportBatch, RoleGrant, Tenant, User
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.web.errors import Conflict, Invalid, NotFound, ServiceError

SERVICE = "intake"


def load_directory(session: Session, *, principal: Principal, tenant_id: uuid.UUID,
                   source: SourceFile | Sequence[SourceRow]) -> Directory:
    """The snapshot planning needs, read for the file's NIPs and usernames only."""
    rows = source.rows if isinstance(source, SourceFile) else source
    nips = {n for n in (people.normalize_nip(r.get(NIP)) for r in rows) if n}
    usernames = {name for r in rows for name in (wanted_username(r),) if name}
    found: dict[str, KnownPerson] = {}
    if nips:
        for user in session.scalars(select(User).where(User.nip.in_(nips))):
            held = frozenset(Role(g.role) for g in user.grants
                             if g.tenant_id is not None and g.tenant_id == user.tenant_id)
            found[user.nip or ""] = KnownPerson(
                user_id=user.id, tenant_id=user.tenant_id, username=user.username,
                full_name=user.full_name, email=user.email, roles=held,
                role=people.tenant_role(user), bidang_id=user.bidang_id, active=user.active)
    taken: dict[str, uuid.UUID] = {}
    if usernames:
        taken = {name.lower(): user_id for name, user_id in session.execute(
            select(User.username, User.id).where(func.lower(User.username).in_(usernames)))}
    bidang = [KnownBidang(id=b.id, name=b.name, closed=b.closed_at is not None)
              for b in session.scalars(select(Bidang).where(Bidang.tenant_id == tenant_id)
                                       .order_by(Bidang.name))]
    heads = frozenset(session.scalars(
        select(User.id).join(RoleGrant, RoleGrant.user_id == User.id).where(
            RoleGrant.role == Role.KEPALA_DINAS.value, RoleGrant.tenant_id == tenant_id,
            User.active.is_(True))))
    return Directory(tenant_id=tenant_id, actor_user_id=principal.user_id,
                     actor_is_head=principal.has_role(Role.KEPALA_DINAS, tenant_id),
                     people=found, usernames=taken, bidang=bidang, heads=heads)


# -- preview and apply ------------------------------------------------------------------------

@dataclass(frozen=True)
class NewAccount:
    """A person created by the import and their activation link's token (shown once)."""

    row: int
    user_id: uuid.UUID
    username: str
    full_name: str
    credential: people.Credential


@dataclass(frozen=True)
class ApplyResult:
    batch: ImportBatch
    accounts: list[NewAccount]
    new_bidang: list[tuple[str, uuid.UUID]]
    changed: int


def require_importer(session: Session, *, principal: Principal,
                     tenant_id: uuid.UUID) -> Tenant:
    """Who may import into the dinas: its administrators (`admin_scope`); checked before an
    upload is even read."""
    return require_administrator(session, principal, tenant_id)


def preview(session: Session, *, principal: Principal, tenant_id: uuid.UUID, filename: str,
            data: bytes, at: datetime) -> ImportBatch:
    """Read the file, plan it against the dinas, store both (nothing else changes).
    Invalid (422, with `details`) when the file cannot be read at all."""
    require_administrator(session, principal, tenant_id)
    try:
        source = read_people_file(data)
    except ImportFileError as unreadable:
        raise Invalid(unreadable.message, unreadable.details) from None
    plan = plan_import(source, load_directory(session, principal=principal,
                                              tenant_id=tenant_id, source=source))
    plan |= {"format": source.format, "columns": list(source.columns),
             "ignored_columns": list(source.ignored_columns)}
    batch = ImportBatch(tenant_id=tenant_id, filename=_display_name(filename, source.format),
                        sha256=hashlib.sha256(data).hexdigest(),
                        rows=[row.to_json() for row in source.rows], plan=plan,
                        created_by=principal.user_id, created_at=at)
    session.add(batch)
    session.flush()
    audit.record(session, service=SERVICE, action="people_import.previewed",
                 target_type="import_batch", target_id=batch.id, tenant_id=tenant_id,
                 actor_user_id=principal.user_id,
                 after={"filename": batch.filename, "sha256": batch.sha256,
                        "format": source.format, "counts": plan["counts"]})
    return batch


def get_batch(session: Session, *, principal: Principal, batch_id: uuid.UUID,
              tenant_id: uuid.UUID | None = None, for_update: bool = False) -> ImportBatch:
    """A batch of a dinas the principal administers (of `tenant_id` when given): NotFound
    for any other, NotAllowed for a member of its dinas who may not administer it."""
    stmt = select(ImportBatch).where(ImportBatch.id == batch_id)
    batch = session.scalars(stmt.with_for_update() if for_update else stmt).one_or_none()
    if batch is None or (tenant_id is not None and batch.tenant_id != tenant_id):
        raise NotFound("Impor")
    try:
        require_administrator(session, principal, batch.tenant_id)
    except NotFound:
        raise NotFound("Impor") from None
    return batch


def recent_batches(session: Session, *, principal: Principal, tenant_id: uuid.UUID,
                   limit: int = 10) -> list[ImportBatch]:
    require_administrator(session, principal, tenant_id)
    return list(session.scalars(select(ImportBatch).where(ImportBatch.tenant_id == tenant_id)
                                .order_by(ImportBatch.created_at.desc()).limit(limit)))


def apply(session: Session, *, principal: Principal, batch_id: uuid.UUID, at: datetime,
          tenant_id: uuid.UUID | None = None) -> ApplyResult:
    """Carry out the batch's stored plan, once: Conflict (409) when it was applied already or
    when the dinas has changed since the preview so that the plan would differ. The batch row
    is locked first, so two applies of one batch cannot both pass."""
    batch = get_batch(session, principal=principal, batch_id=batch_id, tenant_id=tenant_id,
                      for_update=True)
    tenant_id = batch.tenant_id
    if batch.applied_at is not None:
        raise Conflict("Impor ini sudah diterapkan; unggah berkasnya lagi untuk pratinjau baru.")
    rows = [SourceRow(number=r["row"], cells=r["cells"], problems=tuple(r["problems"]))
            for r in batch.rows]
    now_plan = plan_import(rows, load_directory(session, principal=principal,
                                                tenant_id=tenant_id, source=rows))
    stale = _differences(batch.plan, now_plan)
    if stale:
        raise Conflict("Data dinas berubah sejak pratinjau dibuat, sehingga hasilnya akan "
                       "berbeda. Unggah berkasnya lagi untuk pratinjau baru.", stale)
    result = _carry_out(session, principal=principal, batch=batch, at=at)
    batch.applied_by, batch.applied_at = principal.user_id, at
    session.flush()
    audit.record(session, service=SERVICE, action="people_import.applied",
                 target_type="import_batch", target_id=batch.id, tenant_id=tenant_id,
                 actor_user_id=principal.user_id,
                 after={"filename": batch.filename, "sha256": batch.sha256,
                        "counts": batch.plan["counts"],
                        "created_users": [str(a.user_id) for a in result.accounts],
                        "created_bidang": [str(b) for _, b in result.new_bidang]})
    return result


def _differences(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Per row, how the plan made now differs from the stored one (empty: the same)."""
    now_by_row = {entry["row"]: entry for entry in current["rows"]}
    found = []
    for entry in stored["rows"]:
        now = now_by_row.get(entry["row"], {})
        if any(entry.get(k) != now.get(k) for k in ("action", "set", "changes", "user_id")):
            found.append(f"Baris {entry['row']}: semula {ACTION_LABELS[entry['action']]}, kini "
                         f"{ACTION_LABELS.get(now.get('action', ''), '-')}"
                         + (f" ({' '.join(now['reasons'])})" if now.get("reasons") else "")
                         + ".")
    if stored["new_bidang"] != current["new_bidang"] and not found:
        found.append("Daftar Bidang baru berubah.")
    return found


def _carry_out(session: Session, *, principal: Principal, batch: ImportBatch,
               at: datetime) -> ApplyResult:
    tenant_id = batch.tenant_id
    created_bidang: dict[str, uuid.UUID] = {}
    row = 0
    try:
        for item in batch.plan["new_bidang"]:
            row = (item["declared_in"] or item["used_by"])[0]
            bidang = people.create_bidang(session, principal=principal, tenant_id=tenant_id,
                                          name=item["name"], at=at)
            created_bidang[bidang_key(item["name"])] = bidang.id
        accounts: list[NewAccount] = []
        changed = 0
        for entry in batch.plan["rows"]:
            row = entry["row"]
            if entry["kind"] != PERSON or entry["action"] not in (CREATE, CHANGE):
                continue
            wanted = entry["set"]
            if entry["action"] == CREATE:
                user, credential = people.create_person(
                    session, principal=principal, tenant_id=tenant_id,
                    username=wanted["username"], full_name=wanted["full_name"],
                    nip=wanted["nip"], email=wanted["email"], role=Role(wanted["role"]),
                    bidang_id=_bidang_id(wanted["bidang"], created_bidang), at=at,
                    credential="link")
                accounts.append(NewAccount(row=row, user_id=user.id, username=user.username,
                                           full_name=user.full_name, credential=credential))
                continue
            fields: dict[str, Any] = {}
            if FULL_NAME in wanted:
                fields["full_name"] = wanted[FULL_NAME]
            if EMAIL in wanted:
                fields["email"] = wanted[EMAIL]
            if ROLE in wanted:
                fields["role"] = Role(wanted[ROLE])
            if BIDANG in wanted:
                fields["bidang_id"] = _bidang_id(wanted[BIDANG], created_bidang)
            people.update_person(session, principal=principal,
                                 user_id=uuid.UUID(entry["user_id"]), at=at, **fields)
            changed += 1
        session.flush()
    except ServiceError as refused:  # the plan was checked: a rule planning does not know
        refused.message = f"Baris {row}: {refused.message}"
        refused.args = (refused.message,)
        raise
    except IntegrityError:  # another change took the same NIP or username meanwhile
        raise Conflict(f"Baris {row}: data berubah bersamaan dengan impor ini. Unggah "
                       "berkasnya lagi untuk pratinjau baru.") from None
    return ApplyResult(batch=batch, accounts=accounts,
                       new_bidang=[(i["name"], created_bidang[bidang_key(i["name"])])
                                   for i in batch.plan["new_bidang"]], changed=changed)


def _bidang_id(ref: dict[str, str] | None, created: dict[str, uuid.UUID]) -> uuid.UUID | None:
    if ref is None:
        return None
    if "new" in ref:
        return created[bidang_key(ref["new"])]
    return uuid.UUID(ref["id"])


def _display_name(filename: str, fmt: str) -> str:
    """The name shown for the upload, cleaned like every upload's (control and bidi
    characters, paths) and ending in the format it really is."""
    stem = sanitize_filename(filename, kind=FileKind.XLSX).removesuffix(FileKind.XLSX.extension)
    return f"{stem}.{fmt}"
