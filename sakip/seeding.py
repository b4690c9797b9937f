"""A cycle brought to its collection (SOP step 5) through the real, guarded transitions, for the
demo tenant, the tests and the benchmarks: the kepala_dinas confirms step 1 and uploads the SK of
the evaluation team (step 2); the team sets the document list and uploads the guideline (step 3)
and sends the notice to every Bidang (step 4). Each step's guard is checked as in real use."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake.cycle_documents import record_cycle_document
from services.workflow.actions import send_notice, set_document_list
from services.workflow.cycles import complete_step, open_cycle, publish_template
from shared.cycles.models import Cycle, SopTemplate
from shared.documents.models import CycleDocumentKind
from shared.identity.loading import principal_for
from shared.identity.models import Bidang, RoleGrant, User
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.sop.template import load_shipped_template
from shared.storage import ObjectStore, object_key

SEED_TEMPLATE = ("pengumpulan-data-kinerja", 1)
DEMO_DOCUMENTS = ("IKU", "RENJA", "PK", "PENGUKURAN_KINERJA", "LAPORAN_KINERJA")


def placeholder_pdf(text: str | None = None) -> bytes:
    """A minimal valid one-page PDF with a correct cross-reference table; with `text`, the page
    has a content stream saying it (so each text makes a different file)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    if text is not None:
        content = b"BT /F1 12 Tf 72 720 Td (" + text.encode() + b") Tj ET"
        objects[2] = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>"
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def upload_cycle_document(session: Session, store: ObjectStore, *, cycle: Cycle,
                          kind: CycleDocumentKind, principal: Principal, at: datetime) -> None:
    body = placeholder_pdf(f"{kind.label} {cycle.year}")
    key = object_key(tenant_id=cycle.tenant_id, kind="cycle_document", cycle_id=cycle.id)
    stored = store.put_stream(key, io.BytesIO(body), content_type="application/pdf")
    try:
        record_cycle_document(session, principal=principal, cycle=cycle, kind=kind,
                              stored=stored, content_type="application/pdf",
                              filename=f"{kind.value.lower()}-{cycle.year}.pdf", at=at)
        session.flush()
    except Exception:
        store.delete(key, missing_ok=True)
        raise


def seed_collecting_cycle(session: Session, store: ObjectStore, *, tenant_id: uuid.UUID,
                          year: int, at: datetime, owed: Mapping[uuid.UUID, Iterable[str]],
                          kepala: Principal, tim: Principal,
                          template: SopTemplate | None = None) -> Cycle:
    """Open the tenant's cycle (on `template`, else the shipped SOP) and take it through steps
    1-4 at `at`: step 5 runs from `at`."""
    template = template or publish_template(session, load_shipped_template(*SEED_TEMPLATE))
    cycle = open_cycle(session, tenant_id=tenant_id, year=year, template=template, at=at,
                       principal=kepala)
    complete_step(session, cycle, 1, at=at, principal=kepala,
                  note="Rencana implementasi SAKIP ditetapkan.")
    upload_cycle_document(session, store, cycle=cycle, kind=CycleDocumentKind.SK_TIM_EVALUASI,
                          principal=kepala, at=at)
    complete_step(session, cycle, 2, at=at, principal=kepala)
    set_document_list(session, cycle, owed=owed, principal=tim, at=at)
    upload_cycle_document(session, store, cycle=cycle, kind=CycleDocumentKind.PEDOMAN_EVALUASI,
                          principal=tim, at=at)
    complete_step(session, cycle, 3, at=at, principal=tim)
    send_notice(session, cycle, principal=tim, at=at,
                message="Mohon unggah soft copy melalui portal SAKIP.")
    complete_step(session, cycle, 4, at=at, principal=tim)
    return cycle


def role_holder(session: Session, tenant_id: uuid.UUID, role: Role) -> Principal:
    user = session.scalars(select(User).join(RoleGrant, RoleGrant.user_id == User.id).where(
        RoleGrant.role == role.value, RoleGrant.tenant_id == tenant_id)
        .order_by(User.username)).first()
    if user is None:
        raise LookupError(f"no {role.value} in tenant {tenant_id}")
    return principal_for(user)


def seed_demo_cycle(session: Session, store: ObjectStore, *, tenant_id: uuid.UUID,
                    at: datetime) -> Cycle:
    """The demo tenant's cycle of this year, collecting, every Bidang owing a few documents."""
    year = at.year
    existing = session.scalars(select(Cycle).where(Cycle.tenant_id == tenant_id,
                                                   Cycle.year == year)).first()
    if existing is not None:
        return existing
    bidang = session.scalars(select(Bidang.id).where(Bidang.tenant_id == tenant_id,
                                                     Bidang.closed_at.is_(None))).all()
    return seed_collecting_cycle(
        session, store, tenant_id=tenant_id, year=year, at=at,
        owed={b: DEMO_DOCUMENTS for b in bidang},
        kepala=role_holder(session, tenant_id, Role.KEPALA_DINAS),
        tim=role_holder(session, tenant_id, Role.TIM_EVALUASI))
