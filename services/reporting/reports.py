"""Reports: requesting a build (answered at once; a worker builds it), the kepala_dinas's
decision on a cycle report (approve: archived immutably and sent on; return: the LKE goes back to
the team), the city's receipt of an approved report, and the download of its files.

A request only writes the QUEUED row and its event; the build task is sent once that commits
(services.reporting.dispatch), so a worker never looks for a row that is not there. Each function
works in the caller's transaction and writes its audit row and event there.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.reporting import access, archive, evaluations
from services.reporting.dispatch import enqueue_after_commit
from shared import audit
from shared.config import Settings
from shared.cycles.models import Cycle, CycleState
from shared.events import emit, new_event
from shared.identity.models import Tenant
from shared.identity.principal import Principal
from shared.reporting.events import (
    REPORT_ACKNOWLEDGED,
    REPORT_APPROVED,
    REPORT_REQUESTED,
    REPORT_RETURNED,
)
from shared.reporting.models import (
    EvaluationState,
    Report,
    ReportDecision,
    ReportKind,
    ReportReceipt,
    ReportState,
)
from shared.storage import ObjectStore
from shared.web.errors import Conflict, NotFound
from shared.web.schemas import MAX_YEAR, MIN_YEAR, YEAR_MESSAGE

SERVICE = "reporting"
DOWNLOADED = "report.downloaded"
FORMATS = ("pdf", "xlsx")
DOWNLOAD_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True)
class Download:
    url: str
    expires_at: datetime
    filename: str


# -- reading ---------------------------------------------------------------------------------------

def get_report(session: Session, report_id: uuid.UUID, *, for_update: bool = False) -> Report:
    query = select(Report).where(Report.id == report_id)
    report = session.scalars(query.with_for_update() if for_update else query).one_or_none()
    if report is None:
        raise NotFound("Laporan")
    return report


def require_readable(principal: Principal, report: Report) -> None:
    """A cycle report is read like its cycle's LKE; a city recap by the city's read roles only
    (anyone else is told it does not exist)."""
    if report.tenant_id is None:
        if not access.is_city_reader(principal):
            raise NotFound("Laporan")
        return
    access.require_dinas_reader(principal, report.tenant_id, "Laporan")


def reports_of_cycle(session: Session, cycle_id: uuid.UUID) -> list[Report]:
    return list(session.scalars(select(Report).where(Report.cycle_id == cycle_id)
                                .order_by(Report.requested_at.desc(), Report.id)))


def recaps(session: Session, *, year: int | None) -> list[Report]:
    query = select(Report).where(Report.kind == ReportKind.CITY_RECAP.value)
    if year is not None:
        query = query.where(Report.year == year)
    return list(session.scalars(query.order_by(Report.requested_at.desc(), Report.id)))


def receipts_of(session: Session, report_id: uuid.UUID) -> list[ReportReceipt]:
    return list(session.scalars(select(ReportReceipt).where(ReportReceipt.report_id == report_id)
                                .order_by(ReportReceipt.acknowledged_at, ReportReceipt.id)))


def approval_refusals(session: Session, report: Report) -> list[str]:
    """Why the report cannot be approved now (empty: it can)."""
    if report.kind != ReportKind.CYCLE or report.cycle_id is None:
        return ["Hanya laporan hasil evaluasi siklus yang disetujui Kepala Dinas."]
    if report.decision is not None:
        return [f"Laporan ini sudah {_decision_label(report.decision)}."]
    if report.state != ReportState.READY:
        return ["Laporan belum selesai dibuat."]
    cycle = session.get_one(Cycle, report.cycle_id)
    step = evaluations.step_six_refusal(session, cycle)
    if step is not None:
        return [step]
    evaluation = evaluations.evaluation_of(session, report.cycle_id)
    if evaluation is None or evaluation.state != EvaluationState.FINAL:
        return ["LKE siklus ini belum difinalisasi tim evaluasi."]
    if report.evaluation_revision != evaluation.revision:
        return ["Laporan ini dibuat dari LKE yang sudah berubah; minta laporan baru."]
    other = evaluations.approved_report(session, report.cycle_id)
    if other is not None and other.id != report.id:
        return ["Laporan lain siklus ini sudah disetujui."]
    return []


def can_approve(session: Session, principal: Principal, report: Report) -> bool:
    return (report.tenant_id is not None
            and access.holds(principal, report.tenant_id, access.DECIDERS)
            and not approval_refusals(session, report))


# -- requesting ------------------------------------------------------------------------------------

def request_cycle_report(session: Session, cycle: Cycle, *, principal: Principal,
                         at: datetime, settings: Settings) -> Report:
    """Queue the build of the cycle's report (from its LKE as it stands now)."""
    access.require_role(principal, cycle.tenant_id, access.REQUESTERS,
                        "meminta laporan hasil evaluasi")
    if cycle.state == CycleState.CANCELLED:
        raise Conflict("Siklus ini sudah dibatalkan.")
    evaluation = evaluations.evaluation_of(session, cycle.id)
    report = Report(kind=ReportKind.CYCLE.value, tenant_id=cycle.tenant_id, cycle_id=cycle.id,
                    year=cycle.year,
                    evaluation_revision=evaluation.revision if evaluation else None)
    return _queue(session, report, principal=principal, at=at, settings=settings)


def request_city_recap(session: Session, *, year: int, principal: Principal,
                       at: datetime, settings: Settings) -> Report:
    """Queue the build of the city recap of a year (every dinas side by side)."""
    access.require_role(principal, None, access.RECEIVERS, "meminta rekap kota")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Conflict(YEAR_MESSAGE)
    report = Report(kind=ReportKind.CITY_RECAP.value, tenant_id=None, cycle_id=None, year=year)
    return _queue(session, report, principal=principal, at=at, settings=settings)


def _queue(session: Session, report: Report, *, principal: Principal, at: datetime,
           settings: Settings) -> Report:
    report.state, report.progress = ReportState.QUEUED.value, 0
    report.progress_label = "Menunggu pekerja"
    report.requested_by, report.requested_at = principal.user_id, at
    session.add(report)
    session.flush()
    audit.record(session, service=SERVICE, action=REPORT_REQUESTED, target_type="report",
                 target_id=report.id, tenant_id=report.tenant_id,
                 actor_user_id=principal.user_id,
                 after={"kind": report.kind, "year": report.year,
                        "cycle_id": str(report.cycle_id) if report.cycle_id else None,
                        "evaluation_revision": report.evaluation_revision})
    emit(session, new_event(REPORT_REQUESTED, tenant_id=report.tenant_id, payload={
        **_ref(report), "requested_by": principal.user_id}))
    enqueue_after_commit(session, report.id, settings)
    return report


# -- the kepala_dinas's decision -------------------------------------------------------------------

def approve(session: Session, report: Report, *, principal: Principal, store: ObjectStore,
            archive_store: archive.Archive, at: datetime) -> Report:
    """Approve a READY cycle report built from the current FINAL LKE: its PDF is copied into
    the archive (locked against deletion), and `report.approved` sends it on (the workflow
    completes step 6 and notifies bagian_organisasi and inspektur).

    The archive copy is written before the transaction commits: a commit that then fails leaves
    a locked copy under the report's own key (a retry adds a version), never an approval
    without its archive."""
    _require_decider(principal, report, "menyetujui laporan")
    cycle = _decidable_cycle(session, report)
    refusals = approval_refusals(session, report)
    if refusals:
        raise Conflict("Laporan tidak dapat disetujui.", refusals)
    if report.pdf_key is None or report.pdf_sha256 is None:
        raise Conflict("Laporan belum selesai dibuat.")
    archived = archive_store.put_report(store, source_key=report.pdf_key,
                                        key=archive.archive_key(report),
                                        sha256=report.pdf_sha256, at=at)
    report.decision = ReportDecision.APPROVED.value
    report.decided_by, report.decided_at = principal.user_id, at
    report.archive_key, report.archive_version_id = archived.key, archived.version_id
    session.flush()
    audit.record(session, service=SERVICE, action=REPORT_APPROVED, target_type="report",
                 target_id=report.id, tenant_id=cycle.tenant_id, actor_user_id=principal.user_id,
                 before={"decision": None},
                 after={"decision": report.decision, "archive_key": archived.key,
                        "archive_version_id": archived.version_id,
                        "retain_until": archived.retain_until.isoformat(),
                        "pdf_sha256": report.pdf_sha256})
    emit(session, new_event(REPORT_APPROVED, tenant_id=cycle.tenant_id, payload={
        **_ref(report), "approved_by": principal.user_id, "archive_key": archived.key,
        "pdf_sha256": report.pdf_sha256}))
    return report


def return_to_team(session: Session, report: Report, *, principal: Principal, reason: str,
                   at: datetime) -> Report:
    """Send the report back to the evaluation team with a reason: the LKE is a draft again."""
    _require_decider(principal, report, "mengembalikan laporan")
    why = evaluations.require_reason(reason)
    cycle = _decidable_cycle(session, report)
    if report.kind != ReportKind.CYCLE:
        raise Conflict("Hanya laporan hasil evaluasi siklus yang dapat dikembalikan.")
    if report.decision is not None:
        raise Conflict(f"Laporan ini sudah {_decision_label(report.decision)}.")
    if report.state != ReportState.READY:
        raise Conflict("Laporan belum selesai dibuat.")
    if evaluations.approved_report(session, cycle.id) is not None:
        raise Conflict("Laporan lain siklus ini sudah disetujui.")
    report.decision = ReportDecision.RETURNED.value
    report.decision_reason = why
    report.decided_by, report.decided_at = principal.user_id, at
    session.flush()
    audit.record(session, service=SERVICE, action=REPORT_RETURNED, target_type="report",
                 target_id=report.id, tenant_id=cycle.tenant_id, actor_user_id=principal.user_id,
                 before={"decision": None}, after={"decision": report.decision}, reason=why)
    emit(session, new_event(REPORT_RETURNED, tenant_id=cycle.tenant_id, payload={
        **_ref(report), "returned_by": principal.user_id, "reason": why}))
    evaluation = evaluations.evaluation_of(session, cycle.id, for_update=True)
    if evaluation is not None and evaluation.state == EvaluationState.FINAL:
        evaluations.reopen_final(session, evaluation, by=principal.user_id,
                                 reason=f"Laporan dikembalikan Kepala Dinas: {why}", at=at)
    return report


def _require_decider(principal: Principal, report: Report, what: str) -> None:
    if report.tenant_id is None:  # a city recap: nobody decides on it
        raise Conflict("Rekap kota tidak memerlukan persetujuan Kepala Dinas.")
    access.require_role(principal, report.tenant_id, access.DECIDERS, what)


def _decidable_cycle(session: Session, report: Report) -> Cycle:
    """The report's cycle, locked, while its step 6 runs (decisions end with the step)."""
    if report.cycle_id is None:
        raise Conflict("Hanya laporan hasil evaluasi siklus yang disetujui Kepala Dinas.")
    cycle = session.scalars(select(Cycle).where(Cycle.id == report.cycle_id)
                            .with_for_update(key_share=True)).one()
    evaluations.require_step_six(session, cycle)
    return cycle


# -- the city's receipt ----------------------------------------------------------------------------

def acknowledge(session: Session, report: Report, *, principal: Principal,
                at: datetime) -> tuple[ReportReceipt, bool]:
    """Record that a bagian_organisasi or inspektur user received the approved report; once per
    user (a repeat returns the first receipt: (receipt, created))."""
    role = access.require_receiver(principal, "mengonfirmasi penerimaan laporan")
    if report.decision != ReportDecision.APPROVED or report.tenant_id is None:
        raise Conflict("Hanya laporan yang sudah disetujui Kepala Dinas yang dapat dikonfirmasi "
                       "penerimaannya.")
    existing = session.scalars(select(ReportReceipt).where(
        ReportReceipt.report_id == report.id, ReportReceipt.user_id == principal.user_id)).first()
    if existing is not None:
        return existing, False
    receipt = ReportReceipt(report_id=report.id, tenant_id=report.tenant_id,
                            user_id=principal.user_id, role=role.value, acknowledged_at=at)
    session.add(receipt)
    session.flush()
    audit.record(session, service=SERVICE, action=REPORT_ACKNOWLEDGED, target_type="report",
                 target_id=report.id, tenant_id=report.tenant_id,
                 actor_user_id=principal.user_id, after={"role": role.value})
    emit(session, new_event(REPORT_ACKNOWLEDGED, tenant_id=report.tenant_id, payload={
        **_ref(report), "user_id": principal.user_id, "role": role.value}))
    return receipt, True


# -- downloading -----------------------------------------------------------------------------------

def download(session: Session, report: Report, file_format: str, *, principal: Principal,
             store: ObjectStore, at: datetime) -> Download:
    """A short-lived link to one of the report's files (audited); NotFound until it is built."""
    key, sha256 = ((report.pdf_key, report.pdf_sha256) if file_format == "pdf"
                   else (report.xlsx_key, report.xlsx_sha256))
    if file_format not in FORMATS or report.state != ReportState.READY or key is None:
        raise NotFound("Berkas laporan")
    filename = f"{download_stem(session, report)}.{file_format}"
    url = store.presigned_get(key, expires=DOWNLOAD_LIFETIME, download_name=filename)
    audit.record(session, service=SERVICE, action=DOWNLOADED, target_type="report",
                 target_id=report.id, tenant_id=report.tenant_id,
                 actor_user_id=principal.user_id,
                 after={"format": file_format, "sha256": sha256})
    return Download(url=url, expires_at=at + DOWNLOAD_LIFETIME, filename=filename)


def download_stem(session: Session, report: Report) -> str:
    """e.g. laporan-evaluasi-sakip-2026-dinas-a, rekap-evaluasi-sakip-2026."""
    if report.tenant_id is None:
        return f"rekap-evaluasi-sakip-{report.year}"
    slug = session.scalar(select(Tenant.slug).where(Tenant.id == report.tenant_id)) or "dinas"
    return f"laporan-evaluasi-sakip-{report.year}-{_safe(slug)}"


def _safe(slug: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", slug.lower()).strip("-") or "dinas"


def _ref(report: Report) -> dict[str, object]:
    return {"report_id": report.id, "kind": report.kind, "cycle_id": report.cycle_id,
            "year": report.year}


def _decision_label(decision: str) -> str:
    return "disetujui" if decision == ReportDecision.APPROVED else "dikembalikan"
