"""Documents of the cycle itself (the SK forming the evaluation team in SOP step 2, the agreed
evaluation guideline in step 3): who may upload which, and recording a stored version."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.intake.packages import Conflict, Forbidden, NotFound
from shared import audit
from shared.cycles.models import Cycle, CycleState, CycleStep, StepState
from shared.cycles.templates import cycle_definition
from shared.documents.events import CYCLE_DOCUMENT_UPLOADED
from shared.documents.models import CycleDocument, CycleDocumentKind
from shared.events import emit, new_event
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.identity.scope import scoped
from shared.sop.template import SopTemplateDefinition
from shared.storage import StoredObject

SERVICE = "intake"
UPLOADERS = {
    CycleDocumentKind.SK_TIM_EVALUASI: (Role.KEPALA_DINAS, Role.KASUBBAG_PROGRAM),
    CycleDocumentKind.PEDOMAN_EVALUASI: (Role.TIM_EVALUASI, Role.KASUBBAG_PROGRAM),
}


def visible_cycle(session: Session, principal: Principal, cycle_id: uuid.UUID) -> Cycle:
    cycle = session.scalars(scoped(principal, select(Cycle), Cycle.tenant_id)
                            .where(Cycle.id == cycle_id)).one_or_none()
    if cycle is None:
        raise NotFound("Siklus")
    return cycle


def check_can_upload(session: Session, principal: Principal, cycle_id: uuid.UUID,
                     kind: CycleDocumentKind) -> Cycle:
    """Decided before the body is read: the cycle is visible, running, and the role fits."""
    cycle = visible_cycle(session, principal, cycle_id)
    roles = UPLOADERS[kind]
    if not any(principal.has_role(r, cycle.tenant_id) for r in roles):
        names = " atau ".join(r.label for r in roles)
        raise Forbidden(f"{kind.label} diunggah oleh {names}.")
    if cycle.state != CycleState.ACTIVE:
        raise Conflict("Siklus ini tidak sedang berjalan.")
    number = step_needing(cycle_definition(session, cycle), kind)
    if number is not None:
        step = session.scalars(select(CycleStep).where(
            CycleStep.cycle_id == cycle.id, CycleStep.number == number)).one_or_none()
        if step is None or step.state != StepState.ACTIVE:
            raise Conflict(f"{kind.label} diunggah pada langkah {number}, dan langkah itu "
                           "sedang tidak berjalan. Kepala Dinas dapat membuka kembali langkah "
                           "yang sudah selesai.")
    return cycle


def step_needing(definition: SopTemplateDefinition, kind: CycleDocumentKind) -> int | None:
    """The step of the template whose output the document is (its guard asks for it)."""
    for step in definition.steps:
        guard = step.guard
        if guard.get("kind") == "document_uploaded" and guard.get("document") == kind.value:
            return step.number
        if (guard.get("kind") == "document_list_and_guideline" and guard.get(
                "document", CycleDocumentKind.PEDOMAN_EVALUASI.value) == kind.value):
            return step.number
    return None


def get_document(session: Session, principal: Principal,
                 document_id: uuid.UUID) -> CycleDocument:
    """A cycle document the principal may see (every reader of the cycle may); else NotFound."""
    document = session.scalars(scoped(principal, select(CycleDocument), CycleDocument.tenant_id)
                               .where(CycleDocument.id == document_id)).one_or_none()
    if document is None:
        raise NotFound("Dokumen siklus")
    return document


def record_cycle_document(session: Session, *, principal: Principal, cycle: Cycle,
                          kind: CycleDocumentKind, stored: StoredObject, content_type: str,
                          filename: str, at: datetime) -> CycleDocument:
    """A new version of the cycle document, with its audit row and event."""
    number = (session.scalar(select(func.max(CycleDocument.number)).where(
        CycleDocument.cycle_id == cycle.id, CycleDocument.kind == kind.value)) or 0) + 1
    document = CycleDocument(tenant_id=cycle.tenant_id, cycle_id=cycle.id, kind=kind.value,
                             number=number, object_key=stored.key, sha256=stored.sha256,
                             size_bytes=stored.size, content_type=content_type,
                             filename=filename, uploaded_by=principal.user_id, uploaded_at=at)
    session.add(document)
    session.flush()
    audit.record(session, service=SERVICE, action="cycle_document.uploaded",
                 target_type="cycle_document", target_id=document.id, tenant_id=cycle.tenant_id,
                 actor_user_id=principal.user_id,
                 after={"kind": kind.value, "number": number, "sha256": stored.sha256,
                        "size_bytes": stored.size, "filename": filename})
    emit(session, new_event(CYCLE_DOCUMENT_UPLOADED, tenant_id=cycle.tenant_id, payload={
        "cycle_id": cycle.id, "document_id": document.id, "kind": kind.value, "number": number,
        "sha256": stored.sha256, "size_bytes": stored.size}))
    return document


def documents_of(session: Session, cycle: Cycle) -> list[CycleDocument]:
    """Every version of the cycle's documents, by kind, newest first."""
    return list(session.scalars(select(CycleDocument).where(CycleDocument.cycle_id == cycle.id)
                                .order_by(CycleDocument.kind, CycleDocument.number.desc())))


def latest_documents(session: Session, cycle: Cycle) -> dict[str, CycleDocument]:
    """The newest version of each kind of the cycle's documents."""
    latest: dict[str, CycleDocument] = {}
    for document in session.scalars(select(CycleDocument).where(
            CycleDocument.cycle_id == cycle.id).order_by(CycleDocument.number)):
        latest[document.kind] = document
    return latest
