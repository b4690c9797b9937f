"""What the deadline scheduler's alerts say, and to whom.

- reminder (`step.due_soon`): the step's actors. During the collection (SOP step 5) each Bidang
  that still owes documents is told exactly which, with the deadline in force for it, and the
  other actors (the kasubbag_program) get a summary of who misses what;
- overdue (`step.overdue`): the breach policy's roles (e.g. the kepala_dinas) and the actors;
  during the collection the Bidang whose own deadline has passed are told what they still owe;
- second escalation (`step.escalated`): the breach policy's second roles (e.g. the inspektur).

Recipients are whoever holds the role on the tenant's local day, acting officials included.
Texts are in Indonesian and name the dinas, the cycle year, the step and the deadline.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from services.workflow.collection import outstanding
from services.workflow.notify import Roster, bidang_staff, notification_rows
from shared.audit import AuditEntry
from shared.calendar import DurationUnit
from shared.cycles.collection import COLLECTION_STEP, collection_deadline
from shared.cycles.events import STEP_DUE_SOON, STEP_ESCALATED, STEP_OVERDUE
from shared.cycles.models import Cycle, CycleStep, Notification
from shared.db.bulk import insert_rows
from shared.events.models import OutboxEvent
from shared.i18n import format_datetime
from shared.identity.models import Bidang
from shared.identity.roles import Role
from shared.sop.template import SopTemplateDefinition, StepDefinition

UNIT_WORDS = {
    DurationUnit.WORKING_HOURS: "jam kerja",
    DurationUnit.WORKING_DAYS: "hari kerja",
    DurationUnit.CALENDAR_DAYS: "hari",
}


@dataclass
class Writes:
    """The rows a batch of alerts writes: its notifications, audit rows and outbox events,
    inserted together (one statement per table) in the transaction of the claims."""

    notifications: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def insert(self, session: Session) -> None:
        for table, rows in ((Notification.__table__, self.notifications),
                            (AuditEntry.__table__, self.audit),
                            (OutboxEvent.__table__, self.events)):
            insert_rows(session, cast(Table, table), rows)


@dataclass(frozen=True)
class StepAlert:
    """One step the scheduler alerts about, with what its messages need."""

    step: CycleStep
    cycle: Cycle
    definition: SopTemplateDefinition
    dinas: str
    time_zone: str
    day: date  # the tenant's local date at `at`: whose roles count
    at: datetime
    roster: Roster
    writes: Writes

    @property
    def spec(self) -> StepDefinition:
        return self.definition.step(self.step.number)

    @property
    def due_at(self) -> datetime:
        assert self.step.due_at is not None, "an alerted step has a deadline"
        return self.step.due_at

    @property
    def is_collection(self) -> bool:
        return self.step.number == COLLECTION_STEP

    def when(self, value: datetime) -> str:
        return format_datetime(value, self.time_zone)

    def holders(self, roles: Iterable[Role]) -> list[uuid.UUID]:
        return list(dict.fromkeys(user_id for role in roles for user_id in
                                  self.roster.holders(role, self.step.tenant_id, self.day)))

    def actors(self) -> list[Role]:
        return actor_roles(self.spec)

    def header(self) -> str:
        return (f"{self.dinas}, siklus SAKIP {self.cycle.year}, langkah {self.step.number}: "
                f"{self.spec.activity.rstrip('.')}.")

    def tell(self, user_ids: Iterable[uuid.UUID], *, kind: str, subject: str,
             body: str) -> list[uuid.UUID]:
        """Notify each user once; the ids of the users notified."""
        rows = notification_rows(user_ids, tenant_id=self.step.tenant_id, kind=kind,
                                 subject=subject, body=body, cycle_id=self.cycle.id,
                                 step_id=self.step.id, at=self.at)
        self.writes.notifications += rows
        return [row["user_id"] for row in rows]


def actor_roles(spec: StepDefinition) -> list[Role]:
    """The step's acting roles addressed by role; in the collection the Bidang staff are
    addressed Bidang by Bidang instead."""
    return [r for r in spec.actors
            if not (spec.number == COLLECTION_STEP and r is Role.BIDANG_STAFF)]


def roles_addressed(spec: StepDefinition) -> set[Role]:
    """Every role an alert about the step may address."""
    breach = spec.breach
    return {*actor_roles(spec), *(Role(r) for r in breach["escalate_to"]),
            *(Role(r) for r in breach.get("second_escalation_to", []))}


@dataclass(frozen=True)
class Owing:
    """A Bidang that still owes documents in the collection, and its deadline in force."""

    bidang_id: uuid.UUID
    name: str
    labels: list[str]
    deadline: datetime | None


def owing(session: Session, alert: StepAlert) -> list[Owing]:
    owed = outstanding(session, alert.cycle)
    if not owed:
        return []
    names = dict(session.execute(select(Bidang.id, Bidang.name)
                                 .where(Bidang.id.in_(owed))).all())
    found = [Owing(bidang_id=b, name=names.get(b, "Bidang"),
                   labels=[alert.definition.document_label(code) for code in codes],
                   deadline=collection_deadline(session, alert.cycle.id, b))
             for b, codes in owed.items()]
    return sorted(found, key=lambda o: o.name)


def remind(session: Session, alert: StepAlert) -> list[uuid.UUID]:
    """`step.due_soon`: the deadline is near and the step is not done."""
    due = alert.when(alert.due_at)
    year, dinas, number = alert.cycle.year, alert.dinas, alert.step.number
    if not alert.is_collection:
        return alert.tell(
            alert.holders(alert.actors()), kind=STEP_DUE_SOON,
            subject=f"Pengingat: langkah {number} SAKIP {year} ({dinas}) berakhir {due}",
            body=(f"{alert.header()}\nLangkah ini belum selesai. Batas waktu: {due}.\n"
                  "Mohon diselesaikan sebelum batas waktu."))
    missing = owing(session, alert)
    notified: list[uuid.UUID] = []
    for bidang in missing:
        until = alert.when(bidang.deadline or alert.due_at)
        notified += alert.tell(
            bidang_staff(session, bidang.bidang_id), kind=STEP_DUE_SOON,
            subject=f"Pengingat: dokumen {bidang.name} untuk SAKIP {year} belum lengkap",
            body=(f"{alert.header()}\n{bidang.name} masih harus menyerahkan:\n"
                  f"{_bullets(bidang.labels)}\nBatas waktu bagi {bidang.name}: {until}.\n"
                  "Serahkan melalui portal SAKIP sebelum batas waktu."))
    notified += alert.tell(
        alert.holders(alert.actors()), kind=STEP_DUE_SOON,
        subject=f"Pengingat: pengumpulan data kinerja SAKIP {year} ({dinas}) berakhir {due}",
        body=f"{alert.header()}\nBatas waktu: {due}.\n{_summary(alert, missing)}")
    return list(dict.fromkeys(notified))


def overdue(session: Session, alert: StepAlert) -> list[uuid.UUID]:
    """`step.overdue`: the deadline passed; escalated to the breach policy's roles."""
    due = alert.when(alert.due_at)
    year, dinas, number = alert.cycle.year, alert.dinas, alert.step.number
    escalate_to = [Role(r) for r in alert.spec.breach["escalate_to"]]
    body = (f"{alert.header()}\nBatas waktu {due} telah lewat dan langkah ini belum selesai.\n"
            f"Diteruskan kepada: {_labels(escalate_to)}.")
    notified: list[uuid.UUID] = []
    if alert.is_collection:
        missing = owing(session, alert)
        body += f"\n{_summary(alert, missing)}"
        notified += _tell_late_bidang(session, alert, missing)
    notified += alert.tell(
        alert.holders([*escalate_to, *alert.actors()]), kind=STEP_OVERDUE,
        subject=f"Terlambat: langkah {number} SAKIP {year} ({dinas}) melewati batas waktu",
        body=body)
    return list(dict.fromkeys(notified))


def escalate_again(session: Session, alert: StepAlert) -> tuple[list[uuid.UUID], list[Role]]:
    """`step.escalated`: overdue for the policy's time; to the second roles (the inspektur)."""
    roles = [Role(r) for r in alert.spec.breach.get("second_escalation_to", [])]
    later = alert.definition.deadlines["second_escalation_after"]
    late = f"{later.amount} {UNIT_WORDS[later.unit]}"
    first = [Role(r) for r in alert.spec.breach["escalate_to"]]
    body = (f"{alert.header()}\nBatas waktu {alert.when(alert.due_at)} telah lewat lebih dari "
            f"{late} dan langkah ini belum selesai. {_labels(first)} telah diberi tahu saat "
            "batas waktu terlewati.")
    if alert.is_collection:
        body += f"\n{_summary(alert, owing(session, alert))}"
    notified = alert.tell(
        alert.holders(roles), kind=STEP_ESCALATED,
        subject=(f"Eskalasi: langkah {alert.step.number} SAKIP {alert.cycle.year} "
                 f"({alert.dinas}) terlambat lebih dari {late}"),
        body=body)
    return notified, roles


def _tell_late_bidang(session: Session, alert: StepAlert,
                      missing: list[Owing]) -> list[uuid.UUID]:
    """Each Bidang whose own deadline has passed: what it still owes (a Bidang granted a later
    deadline is not late yet)."""
    refused = bool(alert.definition.deadlines.get("refuse_submissions_after_deadline"))
    notified: list[uuid.UUID] = []
    for bidang in missing:
        deadline = bidang.deadline or alert.due_at
        if deadline > alert.at:
            continue
        body = (f"{alert.header()}\nBatas waktu bagi {bidang.name} ({alert.when(deadline)}) "
                f"telah lewat; dokumen berikut belum diterima:\n{_bullets(bidang.labels)}")
        if refused:
            body += "\nPenyerahan setelah batas waktu memerlukan perpanjangan dari Kepala Dinas."
        notified += alert.tell(
            bidang_staff(session, bidang.bidang_id), kind=STEP_OVERDUE,
            subject=f"Terlambat: dokumen {bidang.name} untuk SAKIP {alert.cycle.year} "
                    "belum lengkap",
            body=body)
    return notified


def _summary(alert: StepAlert, missing: list[Owing]) -> str:
    """Who misses what (with a Bidang's own deadline when it differs from the step's)."""
    if not missing:
        return "Seluruh dokumen Bidang telah diterima; langkah ini tinggal diselesaikan."
    lines = ["Bidang yang belum lengkap:"]
    for bidang in missing:
        own = (f" (batas waktu {alert.when(bidang.deadline)})"
               if bidang.deadline and bidang.deadline != alert.due_at else "")
        lines.append(f"- {bidang.name}{own}: {', '.join(bidang.labels)}")
    return "\n".join(lines)


def _bullets(items: Iterable[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _labels(roles: Iterable[Role]) -> str:
    return " dan ".join(r.label for r in roles)
