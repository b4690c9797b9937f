"""The collection window (SOP step 5) as intake enforces it: a Bidang hands its package in only
while step 5 runs and, when the cycle's template says so, not after the deadline in force for
that Bidang (the kepala_dinas's extensions for the Bidang or for the whole cycle included).

The workflow owns the window (steps, extensions); intake reads it through shared/cycles.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from shared.cycles.calendars import calendar_for
from shared.cycles.collection import collection_deadline, collection_step
from shared.cycles.models import Cycle, CycleState, StepState
from shared.cycles.templates import cycle_definition
from shared.i18n import format_datetime

REFUSE_LATE = "refuse_submissions_after_deadline"
NOT_OPEN_YET = "Pengumpulan data kinerja siklus ini belum dibuka."
CLOSED = "Pengumpulan data kinerja siklus ini sudah ditutup; paket tidak dapat diserahkan lagi."
CYCLE_NOT_RUNNING = "Siklus ini tidak lagi menerima dokumen."


@dataclass(frozen=True)
class CollectionWindow:
    """Where one Bidang stands in its cycle's collection."""

    step_state: str | None  # step 5's state (None: the template has no step 5 yet)
    cycle_running: bool
    deadline: datetime | None  # in force for the Bidang, extensions included
    refuses_late: bool  # the template refuses hand-ins after the deadline
    time_zone: str

    def is_late(self, at: datetime) -> bool:
        return self.deadline is not None and at > self.deadline

    def refusal(self, at: datetime) -> str | None:
        """Why a hand-in at `at` is refused (Indonesian), or None when it is accepted."""
        if not self.cycle_running:
            return CYCLE_NOT_RUNNING
        if self.step_state in (None, StepState.PENDING):
            return NOT_OPEN_YET
        if self.step_state != StepState.ACTIVE:
            return CLOSED
        if self.refuses_late and self.deadline is not None and self.is_late(at):
            return deadline_passed_message(self.deadline, self.time_zone)
        return None


def deadline_passed_message(deadline: datetime, time_zone: str) -> str:
    return (f"Batas waktu pengumpulan ({format_datetime(deadline, time_zone)}) sudah lewat. "
            "Penyerahan hanya dapat dilakukan bila Kepala Dinas memberikan perpanjangan.")


def collection_window(session: Session, cycle: Cycle, bidang_id: uuid.UUID) -> CollectionWindow:
    step = collection_step(session, cycle.id)
    deadlines = cycle_definition(session, cycle).deadlines
    return CollectionWindow(
        step_state=step.state if step is not None else None,
        cycle_running=cycle.state == CycleState.ACTIVE,
        deadline=collection_deadline(session, cycle.id, bidang_id),
        refuses_late=bool(deadlines.get(REFUSE_LATE, True)),
        time_zone=calendar_for(session, cycle.tenant_id).time_zone,
    )
