"""A Bidang's package for a cycle: its items, their versions, submission, withdrawal and the
kasubbag_program's per-document review (DESIGN.md "Step 5, precisely").

Every function works inside the caller's transaction and writes the audit row and the event of
what it changed there, so the change, its audit row and its event commit together or not at all.
Objects the principal may not see answer NotFound, never Forbidden with data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.intake.window import collection_window
from shared import audit
from shared.cycles.models import Cycle, CycleRequirement, CycleState
from shared.cycles.templates import cycle_definition
from shared.documents import events as ev
from shared.documents.models import (
    DocumentVersion,
    ItemReview,
    ItemState,
    PackageState,
    Submission,
    SubmissionItem,
)
from shared.events import emit, new_event
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.identity.scope import tenant_scope
from shared.storage import StoredObject

SERVICE = "intake"
MAX_REASON_LENGTH = 2000


class PackageError(Exception):
    """An action on a package was refused; `status` is the HTTP status, the message Indonesian."""

    status = 409

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFound(PackageError):
    status = 404

    def __init__(self, what: str = "Data") -> None:
        super().__init__(f"{what} tidak ditemukan.")


class Forbidden(PackageError):
    status = 403


class Conflict(PackageError):
    status = 409


class Invalid(PackageError):
    status = 422


class Decision(StrEnum):
    ACCEPT = "accept"
    RETURN = "return"


@dataclass(frozen=True)
class VersionInput:
    """What an upload recorded: the stored object and what the uploader said about it."""

    stored: StoredObject
    kind: str
    content_type: str
    filename: str
    title: str
    year: int
    notes: str | None


# -- who may see and do what -----------------------------------------------------------------

def can_read_package(principal: Principal, package: Submission) -> bool:
    scope = tenant_scope(principal)
    if not scope.can_read(package.tenant_id):
        return False
    roles = principal.roles_in(package.tenant_id)
    if roles - {Role.BIDANG_STAFF}:
        return True  # kasubbag_program, tim_evaluasi, kepala_dinas read the whole dinas
    if Role.BIDANG_STAFF in roles:
        return principal.bidang_id == package.bidang_id
    return scope.all_tenants_readable  # bagian_organisasi, inspektur


def _require_bidang_staff(principal: Principal, package: Submission) -> None:
    if not (principal.has_role(Role.BIDANG_STAFF, package.tenant_id)
            and principal.bidang_id == package.bidang_id):
        raise Forbidden("Hanya staf Bidang pemilik paket ini yang dapat melakukannya.")


def _require_reviewer(principal: Principal, package: Submission) -> None:
    if not principal.has_role(Role.KASUBBAG_PROGRAM, package.tenant_id):
        raise Forbidden("Hanya Kasubbag Program yang dapat memeriksa dokumen.")


# -- finding ---------------------------------------------------------------------------------

def get_package(session: Session, principal: Principal, package_id: uuid.UUID, *,
                for_update: bool = False) -> Submission:
    stmt = select(Submission).where(Submission.id == package_id)
    if for_update:
        stmt = stmt.with_for_update()
    package = session.scalars(stmt).one_or_none()
    if package is None or not can_read_package(principal, package):
        raise NotFound("Paket dokumen")
    return package


def get_item(session: Session, principal: Principal, item_id: uuid.UUID, *,
             for_update: bool = False) -> tuple[SubmissionItem, Submission]:
    item = session.get(SubmissionItem, item_id)
    if item is None:
        raise NotFound("Dokumen")
    try:
        package = get_package(session, principal, item.submission_id, for_update=for_update)
    except NotFound:
        raise NotFound("Dokumen") from None
    return item, package


def get_version(session: Session, principal: Principal,
                version_id: uuid.UUID) -> tuple[DocumentVersion, SubmissionItem, Submission]:
    version = session.get(DocumentVersion, version_id)
    if version is None:
        raise NotFound("Versi dokumen")
    try:
        item, package = get_item(session, principal, version.item_id)
    except NotFound:
        raise NotFound("Versi dokumen") from None
    return version, item, package


def items_of(session: Session, package: Submission) -> list[SubmissionItem]:
    return list(session.scalars(select(SubmissionItem)
                                .where(SubmissionItem.submission_id == package.id)
                                .order_by(SubmissionItem.document_type)))


def versions_of(session: Session, item: SubmissionItem) -> list[DocumentVersion]:
    """Every version of an item, newest first."""
    return list(session.scalars(select(DocumentVersion)
                                .where(DocumentVersion.item_id == item.id)
                                .order_by(DocumentVersion.number.desc())))


def latest_version(session: Session, item: SubmissionItem) -> DocumentVersion | None:
    return session.scalars(select(DocumentVersion).where(DocumentVersion.item_id == item.id)
                           .order_by(DocumentVersion.number.desc()).limit(1)).first()


def packages_of_cycle(session: Session, principal: Principal, cycle: Cycle) -> list[Submission]:
    """The packages of a cycle the principal may see (creating those not yet started)."""
    owing = session.scalars(select(CycleRequirement.bidang_id)
                            .where(CycleRequirement.cycle_id == cycle.id).distinct()).all()
    packages = [ensure_package(session, cycle=cycle, bidang_id=b) for b in owing]
    return [p for p in packages if can_read_package(principal, p)]


# -- creating --------------------------------------------------------------------------------

def ensure_package(session: Session, *, cycle: Cycle, bidang_id: uuid.UUID) -> Submission:
    """The Bidang's package of the cycle, with one item per document type it owes."""
    package = session.scalars(select(Submission).where(
        Submission.cycle_id == cycle.id, Submission.bidang_id == bidang_id)).one_or_none()
    if package is None:
        package = _create_package(session, cycle=cycle, bidang_id=bidang_id)
    owed = session.scalars(select(CycleRequirement.document_type).where(
        CycleRequirement.cycle_id == cycle.id, CycleRequirement.bidang_id == bidang_id)).all()
    have = {i.document_type for i in items_of(session, package)}
    missing = [code for code in owed if code not in have]
    if missing:
        session.add_all(SubmissionItem(submission_id=package.id, tenant_id=package.tenant_id,
                                       document_type=code, state=ItemState.MISSING.value)
                        for code in missing)
        session.flush()
    return package


def _create_package(session: Session, *, cycle: Cycle, bidang_id: uuid.UUID) -> Submission:
    """Insert the package, or take the one a concurrent first visit just inserted."""
    try:
        with session.begin_nested():
            package = Submission(tenant_id=cycle.tenant_id, cycle_id=cycle.id,
                                 bidang_id=bidang_id, state=PackageState.DRAFT.value)
            session.add(package)
    except IntegrityError:
        package = session.scalars(select(Submission).where(
            Submission.cycle_id == cycle.id, Submission.bidang_id == bidang_id)).one()
    return package


# -- uploading -------------------------------------------------------------------------------

def check_can_upload(session: Session, principal: Principal,
                     item_id: uuid.UUID) -> tuple[SubmissionItem, Submission]:
    """Refuse an upload before its body is read: who, which item, in which state."""
    item, package = get_item(session, principal, item_id)
    _require_bidang_staff(principal, package)
    cycle = session.get_one(Cycle, package.cycle_id)
    if cycle.state != CycleState.ACTIVE:
        raise Conflict("Siklus ini tidak lagi menerima dokumen.")
    if item.state == ItemState.ACCEPTED:
        raise Conflict("Dokumen ini sudah diterima dan tidak dapat diganti.")
    if item.state == ItemState.SUBMITTED:
        raise Conflict("Dokumen ini sedang diperiksa. Tarik kembali paket untuk menggantinya.")
    return item, package


def add_version(session: Session, *, principal: Principal, item_id: uuid.UUID,
                upload: VersionInput, at: datetime) -> tuple[DocumentVersion, bool]:
    """Record an uploaded soft copy as the item's newest version.

    Returns (version, created). Identical bytes to the current version are recognised: the
    current version is returned with created=False, nothing is written and no event is emitted
    (the caller then removes the object it stored).
    """
    # Lock the item first (serialising uploads to it; never another dinas's), then check it as
    # locked: a hand-in or a review committed meanwhile is seen.
    session.scalars(select(SubmissionItem).where(
        SubmissionItem.id == item_id, SubmissionItem.tenant_id.in_(principal.tenant_ids))
        .with_for_update().execution_options(populate_existing=True)).one_or_none()
    item, package = check_can_upload(session, principal, item_id)
    current = latest_version(session, item)
    if current is not None and current.sha256 == upload.stored.sha256:
        return current, False
    version = DocumentVersion(
        item_id=item.id, tenant_id=item.tenant_id, number=(current.number + 1) if current else 1,
        object_key=upload.stored.key, sha256=upload.stored.sha256,
        size_bytes=upload.stored.size, kind=upload.kind, content_type=upload.content_type,
        filename=upload.filename, title=upload.title, year=upload.year, notes=upload.notes,
        uploaded_by=principal.user_id, uploaded_at=at,
    )
    session.add(version)
    before = item.state
    item.state = ItemState.UPLOADED.value
    session.flush()
    _settle(session, package)
    event_type = ev.DOCUMENT_REPLACED if current else ev.DOCUMENT_UPLOADED
    emit(session, new_event(event_type, tenant_id=item.tenant_id, payload={
        **_item_ref(package, item, version), "version_number": version.number,
        "sha256": version.sha256, "size_bytes": version.size_bytes, "kind": version.kind}))
    audit.record(session, service=SERVICE, action=event_type, target_type="document",
                 target_id=item.id, tenant_id=item.tenant_id, actor_user_id=principal.user_id,
                 before={"state": before, "version": current.number if current else None},
                 after={"state": item.state, "version": version.number,
                        "sha256": version.sha256, "filename": version.filename})
    return version, True


# -- submitting and withdrawing ---------------------------------------------------------------

def submit_package(session: Session, *, principal: Principal, package_id: uuid.UUID,
                   at: datetime) -> Submission:
    """Hand the uploaded documents to the kasubbag_program: the first time, every document owed
    must be there; later (after a return), the replacements go in while others may still be
    under review."""
    package = get_package(session, principal, package_id, for_update=True)
    _require_bidang_staff(principal, package)
    cycle = session.get_one(Cycle, package.cycle_id)
    window = collection_window(session, cycle, package.bidang_id)
    refusal = window.refusal(at)
    if refusal is not None:
        raise Conflict(refusal)
    items = items_of(session, package)
    labels = cycle_definition(session, cycle).document_label
    problems = [f"{labels(i.document_type)}: belum diunggah" for i in items
                if i.state == ItemState.MISSING]
    problems += [f"{labels(i.document_type)}: dikembalikan, unggah penggantinya" for i in items
                 if i.state == ItemState.RETURNED]
    if not items:
        raise Conflict("Tidak ada dokumen yang diminta dari Bidang ini.")
    if problems:
        headline = ("Paket belum lengkap." if any(i.state == ItemState.MISSING for i in items)
                    else "Ada dokumen yang dikembalikan dan belum diganti.")
        raise Conflict(headline, problems)
    handed_in = [i for i in items if i.state == ItemState.UPLOADED]
    if not handed_in:
        raise Conflict("Tidak ada dokumen baru untuk diserahkan.")
    for item in handed_in:
        item.state = ItemState.SUBMITTED.value
        version = latest_version(session, item)
        if version is not None and version.first_submitted_at is None:
            version.first_submitted_at = at
    before = package.state
    package.state = PackageState.SUBMITTED.value
    package.submitted_at = package.submitted_at if before == PackageState.SUBMITTED else at
    session.flush()
    emit(session, new_event(ev.SUBMISSION_SUBMITTED, tenant_id=package.tenant_id, payload={
        **_package_ref(package), "document_types": [i.document_type for i in handed_in],
        "submitted_at": at}))
    audit.record(session, service=SERVICE, action=ev.SUBMISSION_SUBMITTED,
                 target_type="package", target_id=package.id, tenant_id=package.tenant_id,
                 actor_user_id=principal.user_id, before={"state": before},
                 after={"state": package.state,
                        "documents": [i.document_type for i in handed_in],
                        "late": window.is_late(at)})
    return package


def withdraw_package(session: Session, *, principal: Principal, package_id: uuid.UUID,
                     at: datetime) -> Submission:
    package = get_package(session, principal, package_id, for_update=True)
    _require_bidang_staff(principal, package)
    if package.state != PackageState.SUBMITTED:
        raise Conflict("Hanya paket yang sedang menunggu pemeriksaan yang dapat ditarik.")
    refusal = collection_window(session, session.get_one(Cycle, package.cycle_id),
                                package.bidang_id).refusal(at)
    if refusal is not None:  # withdrawn now, it could not be handed in again
        raise Conflict(f"Paket tidak dapat ditarik. {refusal}")
    items = items_of(session, package)
    reviewed = [i for i in items if i.reviewed_at is not None and package.submitted_at
                and i.reviewed_at >= package.submitted_at]
    if reviewed:
        raise Conflict("Pemeriksaan paket sudah dimulai; paket tidak dapat ditarik lagi.")
    for item in items:
        if item.state == ItemState.SUBMITTED:
            item.state = ItemState.UPLOADED.value
    package.state = PackageState.DRAFT.value
    session.flush()
    emit(session, new_event(ev.SUBMISSION_WITHDRAWN, tenant_id=package.tenant_id,
                            payload=_package_ref(package)))
    audit.record(session, service=SERVICE, action=ev.SUBMISSION_WITHDRAWN,
                 target_type="package", target_id=package.id, tenant_id=package.tenant_id,
                 actor_user_id=principal.user_id, before={"state": PackageState.SUBMITTED.value},
                 after={"state": package.state, "at": at.isoformat()})
    return package


# -- reviewing -------------------------------------------------------------------------------

def review_item(session: Session, *, principal: Principal, item_id: uuid.UUID,
                decision: Decision, reason: str | None, at: datetime) -> SubmissionItem:
    """Accept or return one submitted document; a return needs a reason the Bidang will see."""
    item, package = get_item(session, principal, item_id, for_update=True)
    _require_reviewer(principal, package)
    reason = (reason or "").strip()
    if decision is Decision.RETURN and not reason:
        raise Invalid("Alasan pengembalian wajib diisi.")
    if len(reason) > MAX_REASON_LENGTH:
        raise Invalid(f"Alasan paling panjang {MAX_REASON_LENGTH} karakter.")
    session.refresh(item, with_for_update=True)
    if item.state != ItemState.SUBMITTED:
        raise Conflict("Dokumen ini tidak sedang menunggu pemeriksaan.")
    version = latest_version(session, item)
    assert version is not None  # a submitted item always has a version
    accepted = decision is Decision.ACCEPT
    item.state = (ItemState.ACCEPTED if accepted else ItemState.RETURNED).value
    item.return_reason = None if accepted else reason
    item.reviewed_by, item.reviewed_at = principal.user_id, at
    session.add(ItemReview(item_id=item.id, version_id=version.id, tenant_id=item.tenant_id,
                           decision="accepted" if accepted else "returned",
                           reason=reason or None, reviewer_id=principal.user_id, reviewed_at=at))
    session.flush()
    event_type = ev.DOCUMENT_ACCEPTED if accepted else ev.DOCUMENT_RETURNED
    payload = _item_ref(package, item, version) | ({} if accepted else {"reason": reason})
    emit(session, new_event(event_type, tenant_id=item.tenant_id, payload=payload))
    audit.record(session, service=SERVICE, action=event_type, target_type="document",
                 target_id=item.id, tenant_id=item.tenant_id, actor_user_id=principal.user_id,
                 before={"state": ItemState.SUBMITTED.value}, after={"state": item.state},
                 reason=reason or None)
    if _settle(session, package) == PackageState.ACCEPTED:
        package.accepted_at = at
        emit(session, new_event(ev.SUBMISSION_ACCEPTED, tenant_id=package.tenant_id,
                                payload={**_package_ref(package), "accepted_at": at}))
        audit.record(session, service=SERVICE, action=ev.SUBMISSION_ACCEPTED,
                     target_type="package", target_id=package.id, tenant_id=package.tenant_id,
                     actor_user_id=principal.user_id, after={"state": package.state})
    return item


# -- helpers ---------------------------------------------------------------------------------

def _settle(session: Session, package: Submission) -> PackageState:
    """The package's state from its items' states."""
    states = {i.state for i in items_of(session, package)}
    if states and states == {ItemState.ACCEPTED.value}:
        new = PackageState.ACCEPTED
    elif ItemState.SUBMITTED.value in states:
        new = PackageState.SUBMITTED
    elif ItemState.RETURNED.value in states:
        new = PackageState.RETURNED
    else:
        new = PackageState.DRAFT
    package.state = new.value
    return new


def _package_ref(package: Submission) -> dict[str, uuid.UUID]:
    return {"cycle_id": package.cycle_id, "bidang_id": package.bidang_id,
            "submission_id": package.id}


def _item_ref(package: Submission, item: SubmissionItem,
              version: DocumentVersion) -> dict[str, object]:
    return {**_package_ref(package), "item_id": item.id, "document_type": item.document_type,
            "version_id": version.id}
