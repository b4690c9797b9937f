"""The workflow's handlers of the reporting service's events (SOP step 6).

`report.approved`: the kepala_dinas approved the cycle's evaluation report, so step 6 completes
(as the system; its guard reads the approval) and with it the cycle; bagian_organisasi and the
inspektur are told a report awaits their receipt. `report.ready`, `report.returned` and
`report.failed` tell the people who act next. Idempotent: a duplicate finds step 6 completed or
adds nothing new (the consumer's inbox table skips an event id it has applied).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session

from services.workflow.cycles import complete_step, missing_of, step_of
from services.workflow.notify import holders, notify
from shared.cycles.calendars import calendar_for
from shared.cycles.models import Cycle, CycleState, StepState
from shared.cycles.templates import cycle_definition
from shared.events import Event
from shared.identity.models import Tenant
from shared.identity.roles import Role
from shared.reporting.events import REPORT_APPROVED, REPORT_FAILED, REPORT_READY, REPORT_RETURNED
from shared.reporting.models import ReportKind

REPORT_STEP_GUARD = "report_approved"


def _cycle_of(session: Session, event: Event) -> Cycle | None:
    if event.payload.get("kind") != ReportKind.CYCLE.value or not event.payload.get("cycle_id"):
        return None
    cycle = session.get(Cycle, uuid.UUID(event.payload["cycle_id"]))
    if cycle is None or cycle.tenant_id != event.tenant_id:
        return None
    return cycle


def _local_day(session: Session, cycle: Cycle, event: Event) -> date:
    return event.occurred_at.astimezone(calendar_for(session, cycle.tenant_id).tz).date()


def _dinas(session: Session, cycle: Cycle) -> str:
    tenant = session.get(Tenant, cycle.tenant_id)
    return tenant.name if tenant is not None else ""


def report_approved(session: Session, event: Event) -> None:
    cycle = _cycle_of(session, event)
    if cycle is None:
        return
    day = _local_day(session, cycle, event)
    receivers = [user for role in (Role.BAGIAN_ORGANISASI, Role.INSPEKTUR)
                 for user in holders(session, role, cycle.tenant_id, day)]
    notify(session, receivers, tenant_id=cycle.tenant_id, kind="report.approved",
           cycle_id=cycle.id, at=event.occurred_at,
           subject=f"Laporan hasil evaluasi SAKIP {_dinas(session, cycle)} {cycle.year} disetujui",
           body="Laporan Hasil Evaluasi SAKIP Internal telah disetujui Kepala Dinas dan "
                "diarsipkan. Mohon konfirmasi penerimaannya di portal SAKIP.")
    _complete_report_step(session, cycle, event)


def _complete_report_step(session: Session, cycle: Cycle, event: Event) -> None:
    if cycle.state != CycleState.ACTIVE:
        return
    definition = cycle_definition(session, cycle)
    numbers = [s.number for s in definition.steps if s.guard["kind"] == REPORT_STEP_GUARD]
    for number in numbers:
        step = step_of(session, cycle, number)
        if step.state != StepState.ACTIVE or missing_of(session, cycle, step, None):
            continue
        at = max(event.occurred_at, step.started_at or event.occurred_at)
        complete_step(session, cycle, number, at=at, principal=None,
                      note="Laporan hasil evaluasi SAKIP internal disetujui Kepala Dinas.")


def _tell(session: Session, event: Event, role: Role, *, kind: str, subject: str,
          body: str) -> None:
    """Notify whoever holds `role` in the report's dinas that day (nothing for a recap or a
    cycle of another tenant)."""
    cycle = _cycle_of(session, event)
    if cycle is None:
        return
    people = holders(session, role, cycle.tenant_id, _local_day(session, cycle, event))
    notify(session, people, tenant_id=cycle.tenant_id, kind=kind, cycle_id=cycle.id,
           at=event.occurred_at, subject=subject.format(year=event.payload["year"]), body=body)


def report_ready(session: Session, event: Event) -> None:
    _tell(session, event, Role.KEPALA_DINAS, kind="report.ready",
          subject="Laporan hasil evaluasi SAKIP {year} siap ditinjau",
          body="Laporan Hasil Evaluasi SAKIP Internal telah tersusun (PDF dan XLSX). Mohon "
               "tinjau, lalu setujui atau kembalikan kepada tim evaluasi.")


def report_returned(session: Session, event: Event) -> None:
    _tell(session, event, Role.TIM_EVALUASI, kind="report.returned",
          subject="Laporan hasil evaluasi SAKIP {year} dikembalikan",
          body=f"Kepala Dinas mengembalikan laporan dengan alasan: {event.payload['reason']}. "
               "LKE dibuka kembali untuk diperbaiki.")


def report_failed(session: Session, event: Event) -> None:
    _tell(session, event, Role.TIM_EVALUASI, kind="report.failed",
          subject="Laporan hasil evaluasi SAKIP {year} gagal disusun",
          body=f"{event.payload['error']} Silakan minta penyusunan laporan kembali.")


REPORT_HANDLERS: dict[str, Callable[[Session, Event], None]] = {
    REPORT_APPROVED: report_approved,
    REPORT_READY: report_ready,
    REPORT_RETURNED: report_returned,
    REPORT_FAILED: report_failed,
}
