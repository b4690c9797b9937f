"""Guards: what proves a step's output exists, and what is still missing when it does not.

Each guard kind of the template (`shared.sop.template.GUARD_KINDS`) answers the list of what is
missing, in words a civil servant understands; an empty list means the step may complete.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.workflow.collection import outstanding
from shared.cycles.models import (
    CollectionClosure,
    Cycle,
    CycleRequirement,
    CycleStep,
    StepNotice,
)
from shared.documents.models import CycleDocument, CycleDocumentKind
from shared.identity.models import Bidang
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.reporting.models import Report, ReportDecision, ReportKind
from shared.sop.template import SopTemplateDefinition


@dataclass(frozen=True)
class GuardContext:
    session: Session
    cycle: Cycle
    step: CycleStep
    definition: SopTemplateDefinition
    principal: Principal | None  # None: the system (the consumer), never a confirmation


Guard = Callable[[GuardContext, dict[str, Any]], list[str]]


def missing_for(context: GuardContext) -> list[str]:
    """What the step still lacks before it may complete (empty: its guard holds)."""
    guard = context.definition.step(context.step.number).guard
    return GUARDS[guard["kind"]](context, guard)


def _confirmation(context: GuardContext, guard: dict[str, Any]) -> list[str]:
    role = Role(guard["by"])
    if context.principal is not None and context.principal.has_role(role, context.cycle.tenant_id):
        return []
    return [f"Konfirmasi oleh {role.label}: langkah ini diselesaikan oleh {role.label} sendiri."]


def _has_cycle_document(session: Session, cycle_id: uuid.UUID, kind: str) -> bool:
    return session.scalar(select(CycleDocument.id).where(
        CycleDocument.cycle_id == cycle_id, CycleDocument.kind == kind).limit(1)) is not None


def _document_label(kind: str) -> str:
    try:
        return CycleDocumentKind(kind).label
    except ValueError:
        return kind


def _document_uploaded(context: GuardContext, guard: dict[str, Any]) -> list[str]:
    kind = guard["document"]
    if _has_cycle_document(context.session, context.cycle.id, kind):
        return []
    return [f"{_document_label(kind)} belum diunggah."]


def _document_list_and_guideline(context: GuardContext, guard: dict[str, Any]) -> list[str]:
    missing = []
    listed = context.session.scalar(select(CycleRequirement.id).where(
        CycleRequirement.cycle_id == context.cycle.id).limit(1))
    if listed is None:
        missing.append("Daftar dokumen SAKIP (jenis dokumen yang wajib diserahkan setiap Bidang) "
                       "belum ditetapkan.")
    kind = guard.get("document", CycleDocumentKind.PEDOMAN_EVALUASI.value)
    if not _has_cycle_document(context.session, context.cycle.id, kind):
        missing.append(f"{_document_label(kind)} belum diunggah.")
    return missing


def _notice_sent(context: GuardContext, guard: dict[str, Any]) -> list[str]:
    sent = context.session.scalar(select(StepNotice.id).where(
        StepNotice.cycle_id == context.cycle.id,
        StepNotice.step_number == context.step.number,
        StepNotice.sent_at >= context.step.started_at).limit(1))
    if sent is not None:
        return []
    return ["Pemberitahuan daftar dokumen dan pedoman evaluasi kepada setiap Bidang belum dikirim."]


def _all_packages_accepted(context: GuardContext, guard: dict[str, Any]) -> list[str]:
    closed = context.session.scalar(select(CollectionClosure.id).where(
        CollectionClosure.cycle_id == context.cycle.id,
        CollectionClosure.closed_at >= context.step.started_at).limit(1))
    if closed is not None:
        return []
    owed = outstanding(context.session, context.cycle)
    if not owed:
        return []
    names = dict(context.session.execute(select(Bidang.id, Bidang.name).where(
        Bidang.id.in_(owed))).all())
    label = context.definition.document_label
    return [f"{names.get(bidang_id, str(bidang_id))}: "
            f"{', '.join(label(code) for code in codes)} belum diterima."
            for bidang_id, codes in sorted(owed.items(), key=lambda kv: names.get(kv[0], ""))]


def _report_approved(context: GuardContext, guard: dict[str, Any]) -> list[str]:
    """An evaluation report of the cycle approved by the kepala_dinas since the step began (a
    step reopened for correction needs the corrected report approved)."""
    approved = context.session.scalar(select(Report.id).where(
        Report.cycle_id == context.cycle.id, Report.kind == ReportKind.CYCLE.value,
        Report.decision == ReportDecision.APPROVED.value,
        Report.decided_at >= context.step.started_at).limit(1))
    if approved is not None:
        return []
    return ["Laporan hasil evaluasi SAKIP internal belum disetujui Kepala Dinas."]


GUARDS: dict[str, Guard] = {
    "confirmation": _confirmation,
    "document_uploaded": _document_uploaded,
    "document_list_and_guideline": _document_list_and_guideline,
    "notice_sent": _notice_sent,
    "all_packages_accepted": _all_packages_accepted,
    "report_approved": _report_approved,
}
