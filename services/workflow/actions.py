"""The step actions of the SOP that produce a step's output: the document list (step 3), the
notice to every Bidang (step 4), closing the collection with who is missing what, and extending
the collection window (step 5). Each is done by its role, audited, and evented where others care.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.workflow import deadlines
from services.workflow.collection import outstanding
from services.workflow.cycles import (
    SERVICE,
    actor_of,
    complete_step,
    require_active_step,
    require_reason,
    require_role,
)
from services.workflow.notify import bidang_staff, notify
from shared import audit
from shared.cycles.calendars import calendar_for
from shared.cycles.collection import COLLECTION_STEP, collection_deadline
from shared.cycles.events import COLLECTION_CLOSED, STEP_EXTENDED
from shared.cycles.models import (
    CollectionClosure,
    CollectionExtension,
    Cycle,
    CycleRequirement,
    StepNotice,
)
from shared.cycles.templates import cycle_definition
from shared.events import emit, new_event
from shared.i18n import format_datetime
from shared.identity.models import Bidang
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.web.errors import Conflict, Invalid

DOCUMENT_LIST_STEP = 3
NOTICE_STEP = 4
LIST_MAKERS = (Role.TIM_EVALUASI, Role.KASUBBAG_PROGRAM)
COLLECTION_CLOSER = (Role.KASUBBAG_PROGRAM,)
EXTENSION_GRANTOR = (Role.KEPALA_DINAS,)
NOTICE_KIND = "step.notice"


def set_document_list(session: Session, cycle: Cycle, *,
                      owed: Mapping[uuid.UUID, Iterable[str]], principal: Principal | None,
                      at: datetime) -> list[CycleRequirement]:
    """Record which document types each Bidang owes (SOP step 3's output), replacing an earlier
    list; only while step 3 runs."""
    require_role(principal, cycle.tenant_id, LIST_MAKERS, "menetapkan daftar dokumen")
    require_active_step(session, cycle, DOCUMENT_LIST_STEP)
    definition = cycle_definition(session, cycle)
    known = {d.code for d in definition.document_types}
    open_bidang = set(session.scalars(select(Bidang.id).where(
        Bidang.tenant_id == cycle.tenant_id, Bidang.closed_at.is_(None))))
    owed = {bidang_id: list(dict.fromkeys(codes)) for bidang_id, codes in owed.items()}
    problems = [f"Bidang {b} bukan Bidang aktif perangkat daerah ini." for b in owed
                if b not in open_bidang]
    problems += [f"Jenis dokumen {code!r} tidak dikenal templat." for codes in owed.values()
                 for code in codes if code not in known]
    if not any(owed.values()):
        problems.append("Daftar dokumen kosong: pilih minimal satu dokumen untuk satu Bidang.")
    if problems:
        raise Invalid("Daftar dokumen tidak valid.", problems)
    session.execute(delete(CycleRequirement).where(CycleRequirement.cycle_id == cycle.id))
    rows = [CycleRequirement(cycle_id=cycle.id, tenant_id=cycle.tenant_id, bidang_id=bidang_id,
                             document_type=code)
            for bidang_id, codes in owed.items() for code in codes]
    session.add_all(rows)
    session.flush()
    audit.record(session, service=SERVICE, action="cycle.document_list_set", target_type="cycle",
                 target_id=cycle.id, tenant_id=cycle.tenant_id, **actor_of(principal),
                 after={"owed": {str(b): sorted(c) for b, c in owed.items() if c},
                        "at": at.isoformat()})
    return rows


def document_list(session: Session, cycle: Cycle) -> dict[uuid.UUID, list[str]]:
    listed: dict[uuid.UUID, list[str]] = {}
    for bidang_id, code in session.execute(
            select(CycleRequirement.bidang_id, CycleRequirement.document_type)
            .where(CycleRequirement.cycle_id == cycle.id)
            .order_by(CycleRequirement.document_type)):
        listed.setdefault(bidang_id, []).append(code)
    return listed


def send_notice(session: Session, cycle: Cycle, *, principal: Principal | None, at: datetime,
                message: str | None) -> StepNotice:
    """SOP step 4: tell every Bidang on the list what it must hand in, by when the collection
    runs, and the guideline; every staff member of each Bidang gets it in the inbox."""
    definition = cycle_definition(session, cycle)
    require_role(principal, cycle.tenant_id, definition.step(NOTICE_STEP).actors,
                 "mengirim pemberitahuan kepada Bidang")
    step = require_active_step(session, cycle, NOTICE_STEP)
    listed = document_list(session, cycle)
    if not listed:
        raise Conflict("Daftar dokumen belum ditetapkan (langkah 3).")
    text = (message or "").strip()[:4000]
    notice = StepNotice(cycle_id=cycle.id, tenant_id=cycle.tenant_id, step_number=NOTICE_STEP,
                        message=text, sent_by=principal.user_id if principal else None,
                        sent_at=at)
    session.add(notice)
    names = dict(session.execute(select(Bidang.id, Bidang.name).where(
        Bidang.id.in_(listed))).all())
    collection = definition.step(COLLECTION_STEP)
    window = f"{collection.duration.amount} hari kerja"
    for bidang_id, codes in listed.items():
        documents = "\n".join(f"- {definition.document_label(c)}" for c in codes)
        body = (f"Siklus {cycle.year}: {names.get(bidang_id, '')} diminta menyerahkan data "
                f"kinerja berikut dalam {window} sejak pengumpulan dibuka:\n{documents}\n"
                "Pedoman evaluasi data kinerja tersedia di portal.")
        if text:
            body += f"\n\nPesan: {text}"
        notify(session, bidang_staff(session, bidang_id), tenant_id=cycle.tenant_id,
               kind=NOTICE_KIND, subject=f"Permintaan data kinerja SAKIP {cycle.year}",
               body=body, cycle_id=cycle.id, step_id=step.id)
    session.flush()
    audit.record(session, service=SERVICE, action="step.notice_sent", target_type="step",
                 target_id=step.id, tenant_id=cycle.tenant_id, **actor_of(principal),
                 after={"bidang": sorted(str(b) for b in listed), "message": text})
    return notice


def close_collection(session: Session, cycle: Cycle, *, principal: Principal | None,
                     at: datetime, reason: str | None) -> CollectionClosure:
    """The kasubbag_program ends the collection before every package is accepted: who is missing
    what is recorded, and step 5 completes."""
    require_role(principal, cycle.tenant_id, COLLECTION_CLOSER, "menutup pengumpulan")
    why = require_reason(reason)
    require_active_step(session, cycle, COLLECTION_STEP)
    missing = {str(b): codes for b, codes in outstanding(session, cycle).items()}
    closure = CollectionClosure(cycle_id=cycle.id, tenant_id=cycle.tenant_id, missing=missing,
                                reason=why, closed_by=principal.user_id if principal else None,
                                closed_at=at)
    session.add(closure)
    session.flush()
    audit.record(session, service=SERVICE, action="collection.closed", target_type="cycle",
                 target_id=cycle.id, tenant_id=cycle.tenant_id, **actor_of(principal),
                 after={"missing": missing}, reason=why)
    emit(session, new_event(COLLECTION_CLOSED, tenant_id=cycle.tenant_id, payload={
        "cycle_id": cycle.id, "closure_id": closure.id, "missing": missing, "reason": why}))
    complete_step(session, cycle, COLLECTION_STEP, at=at, principal=principal,
                  note=f"Pengumpulan ditutup: {why}")
    return closure


def grant_extension(session: Session, cycle: Cycle, *, principal: Principal | None,
                    at: datetime, due_at: datetime, reason: str | None,
                    bidang_id: uuid.UUID | None = None) -> CollectionExtension:
    """The kepala_dinas moves the collection deadline, for one Bidang or the whole cycle. A
    whole-cycle extension moves step 5's own deadline (and its reminders and escalations)."""
    require_role(principal, cycle.tenant_id, EXTENSION_GRANTOR, "memberikan perpanjangan")
    why = require_reason(reason)
    step = require_active_step(session, cycle, COLLECTION_STEP)
    if due_at.tzinfo is None:
        raise Invalid("Batas waktu baru harus menyebut zona waktunya.")
    if bidang_id is not None and session.scalar(select(CycleRequirement.id).where(
            CycleRequirement.cycle_id == cycle.id,
            CycleRequirement.bidang_id == bidang_id).limit(1)) is None:
        raise Invalid("Bidang ini tidak wajib menyerahkan dokumen pada siklus ini.")
    current = (collection_deadline(session, cycle.id, bidang_id) if bidang_id
               else _cycle_deadline(session, cycle, step.due_at))
    if due_at <= at:
        raise Invalid("Batas waktu baru harus di masa depan.")
    if current is not None and due_at <= current:
        raise Invalid("Batas waktu baru harus setelah batas waktu yang berlaku "
                      f"({format_datetime(current)}).")
    extension = CollectionExtension(cycle_id=cycle.id, tenant_id=cycle.tenant_id,
                                    bidang_id=bidang_id, due_at=due_at, reason=why,
                                    granted_by=principal.user_id if principal else None,
                                    granted_at=at)
    session.add(extension)
    session.flush()
    if bidang_id is None:
        deadlines.plan(step, definition=cycle_definition(session, cycle),
                       calendar=calendar_for(session, cycle.tenant_id), due_at=due_at, at=at)
    audit.record(session, service=SERVICE, action="step.extended", target_type="step",
                 target_id=step.id, tenant_id=cycle.tenant_id, **actor_of(principal),
                 before={"due_at": current.isoformat() if current else None},
                 after={"due_at": due_at.isoformat(),
                        "bidang_id": str(bidang_id) if bidang_id else None}, reason=why)
    emit(session, new_event(STEP_EXTENDED, tenant_id=cycle.tenant_id, payload={
        "cycle_id": cycle.id, "step_id": step.id, "number": step.number,
        "extension_id": extension.id, "bidang_id": bidang_id, "due_at": due_at,
        "previous_due_at": current, "reason": why}))
    return extension


def _cycle_deadline(session: Session, cycle: Cycle, step_due: datetime | None) -> datetime | None:
    """The whole cycle's deadline in force: the latest whole-cycle extension, else step 5's."""
    latest = session.scalars(select(CollectionExtension.due_at).where(
        CollectionExtension.cycle_id == cycle.id, CollectionExtension.bidang_id.is_(None))
        .order_by(CollectionExtension.due_at.desc())).first()
    return latest or step_due
