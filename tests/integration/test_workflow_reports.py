"""Step 6 in the workflow: its guard reads the kepala_dinas's approval of the cycle's report (a
reporting-owned row), and the workflow's handler of `report.approved` completes step 6 and with it
the cycle, telling bagian_organisasi and the inspektur; `report.ready`/`returned` reach the people
who act next. The handlers run as the consumer runs them (HANDLERS), on real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.workflow.actions import close_collection
from services.workflow.cycles import complete_step, get_cycle, step_of
from services.workflow.handlers import HANDLERS
from shared.cycles.events import CYCLE_COMPLETED
from shared.cycles.models import CycleState, Notification, StepState
from shared.db import transaction
from shared.events import Event, new_event
from shared.events.models import OutboxEvent
from shared.reporting.events import REPORT_APPROVED, REPORT_READY, REPORT_RETURNED
from shared.reporting.models import Report, ReportDecision, ReportKind, ReportState
from shared.web.errors import GuardFailed
from tests.world import COLLECTING_AT, Dinas, World

REPORT_STEP = 6


@pytest.fixture
def evaluating(session_factory: sessionmaker[Session], world: World) -> Dinas:
    """dinas-a with its collection closed: step 6 (evaluation and report) active."""
    with transaction(session_factory) as session:
        cycle = get_cycle(session, world.a.cycle_id)
        close_collection(session, cycle, principal=world.a.principals["kasubbag"],
                         at=COLLECTING_AT, reason="Batas waktu pengumpulan berakhir.")
    return world.a


def _report(session: Session, dinas: Dinas, *, decision: ReportDecision | None) -> Report:
    at = COLLECTING_AT + timedelta(days=1)
    report = Report(kind=ReportKind.CYCLE.value, tenant_id=dinas.tenant_id,
                    cycle_id=dinas.cycle_id, year=2026, state=ReportState.READY.value,
                    decision=decision.value if decision else None,
                    decided_at=at if decision else None,
                    decided_by=dinas.principals["kepala"].user_id if decision else None)
    session.add(report)
    session.flush()
    return report


def _event(type_: str, dinas: Dinas, report: Report, **payload: object) -> Event:
    return new_event(type_, tenant_id=dinas.tenant_id, payload={
        "report_id": report.id, "kind": "cycle", "cycle_id": dinas.cycle_id, "year": 2026,
        **payload})


def _approved(dinas: Dinas, report: Report) -> Event:
    return _event(REPORT_APPROVED, dinas, report,
                  approved_by=dinas.principals["kepala"].user_id,
                  archive_key=f"tenants/{dinas.tenant_id}/arsip/{report.id}.pdf",
                  pdf_sha256="0" * 64)


def _inbox(session: Session, kind: str) -> set[uuid.UUID]:
    return set(session.scalars(select(Notification.user_id).where(Notification.kind == kind)))


def test_step_6_waits_for_an_approved_report(session_factory: sessionmaker[Session],
                                             evaluating: Dinas) -> None:
    with transaction(session_factory) as session:
        cycle = get_cycle(session, evaluating.cycle_id)
        _report(session, evaluating, decision=None)  # ready, not approved yet
        with pytest.raises(GuardFailed) as refused:
            complete_step(session, cycle, REPORT_STEP, at=COLLECTING_AT,
                          principal=evaluating.principals["tim"])
        assert refused.value.details == [
            "Laporan hasil evaluasi SAKIP internal belum disetujui Kepala Dinas."]


def test_report_approved_completes_step_6_and_the_cycle_and_tells_the_city(
        session_factory: sessionmaker[Session], world: World, evaluating: Dinas) -> None:
    with transaction(session_factory) as session:
        report = _report(session, evaluating, decision=ReportDecision.APPROVED)
        event = _approved(evaluating, report)
        HANDLERS[REPORT_APPROVED](session, event)
    with session_factory() as session:
        cycle = get_cycle(session, evaluating.cycle_id)
        assert cycle.state == CycleState.COMPLETED
        step = step_of(session, cycle, REPORT_STEP)
        assert step.state == StepState.COMPLETED
        assert step.completed_by is None  # the system, on the kepala_dinas's approval
        assert _inbox(session, "report.approved") == {
            world.city["organisasi"].user_id, world.city["inspektur"].user_id}
        completed = session.scalars(select(OutboxEvent.payload).where(
            OutboxEvent.type == CYCLE_COMPLETED)).all()
        assert [p["cycle_id"] for p in completed] == [str(evaluating.cycle_id)]

    # A duplicate finds the cycle completed and changes nothing.
    with transaction(session_factory) as session:
        HANDLERS[REPORT_APPROVED](session, event)
    with session_factory() as session:
        assert session.scalar(select(OutboxEvent.event_id).where(
            OutboxEvent.type == CYCLE_COMPLETED).offset(1)) is None


def test_an_approval_naming_another_tenants_cycle_is_ignored(
        session_factory: sessionmaker[Session], world: World, evaluating: Dinas) -> None:
    with transaction(session_factory) as session:
        report = _report(session, evaluating, decision=ReportDecision.APPROVED)
        forged = new_event(REPORT_APPROVED, tenant_id=world.b.tenant_id, payload={
            "report_id": report.id, "kind": "cycle", "cycle_id": evaluating.cycle_id,
            "year": 2026, "approved_by": world.b.principals["kepala"].user_id,
            "archive_key": "x", "pdf_sha256": "0" * 64})
        HANDLERS[REPORT_APPROVED](session, forged)
    with session_factory() as session:
        assert get_cycle(session, evaluating.cycle_id).state == CycleState.ACTIVE
        assert _inbox(session, "report.approved") == set()


def test_ready_and_returned_reports_reach_the_kepala_dinas_and_the_team(
        session_factory: sessionmaker[Session], evaluating: Dinas) -> None:
    with transaction(session_factory) as session:
        report = _report(session, evaluating, decision=None)
        HANDLERS[REPORT_READY](session, _event(
            REPORT_READY, evaluating, report, fingerprint="f" * 64, pdf_sha256="0" * 64,
            xlsx_sha256="1" * 64, build_seconds=1.5, reused=False))
        kepala = evaluating.principals["kepala"].user_id
        HANDLERS[REPORT_RETURNED](session, _event(
            REPORT_RETURNED, evaluating, report, returned_by=kepala,
            reason="Temuan Bidang 2 belum lengkap."))
    with session_factory() as session:
        assert _inbox(session, "report.ready") == {evaluating.principals["kepala"].user_id}
        assert _inbox(session, "report.returned") == {evaluating.principals["tim"].user_id}
        body = session.scalar(select(Notification.body).where(
            Notification.kind == "report.returned"))
        assert body is not None
        assert "Temuan Bidang 2 belum lengkap." in body
        assert get_cycle(session, evaluating.cycle_id).state == CycleState.ACTIVE
