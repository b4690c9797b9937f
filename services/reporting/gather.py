"""What the reports say, read from the database in a bounded number of queries (never one per
Bidang or per cell): the cycle report's content (`cycle_content`) and the city recap's
(`city_recap_content`). Nothing here formats for display; renderers do.

The matrix follows DESIGN.md "Step 5 (collection), precisely": a document is on time when the
version finally accepted (or, while it awaits review, the version handed in) was first submitted
no later than the deadline in force for its Bidang, the latest extension granted to the Bidang
or to the whole cycle, else step 5's own deadline (`shared.cycles.collection.
collection_deadline`, computed here for every Bidang at once from the same rows).
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from services.reporting.content import (
    BidangRow,
    CellStatus,
    CityRecapContent,
    CycleReportContent,
    DocumentTypeColumn,
    EvidenceLine,
    ExtensionLine,
    LkeSummary,
    RecapRow,
    ScoreLine,
    SopHeader,
    StepLine,
    Totals,
)
from shared.calendar import DEFAULT_TIME_ZONE, DurationUnit, WorkingCalendar
from shared.cycles.calendars import calendar_for
from shared.cycles.collection import COLLECTION_STEP
from shared.cycles.models import (
    CollectionExtension,
    Cycle,
    CycleRequirement,
    CycleState,
    CycleStep,
    SopTemplate,
    StepState,
)
from shared.cycles.templates import definition_of
from shared.documents.models import (
    DocumentVersion,
    ItemReview,
    ItemState,
    Submission,
    SubmissionItem,
)
from shared.identity.models import Bidang, Tenant, User
from shared.reporting.models import (
    Evaluation,
    EvaluationAnswer,
    Report,
    ReportDecision,
    ReportKind,
    Rubric,
)
from shared.reporting.rubric import RubricDefinition, Score, round_half_up, rubric_from_dict, score
from shared.sop.template import Duration, SopTemplateDefinition
from shared.web.errors import NotFound

ALL_BIDANG = "Semua Bidang"
SYSTEM_ACTOR = "Sistem"
NO_CYCLE = "none"
ZERO = Decimal("0.00")
HOUR = Decimal(3600)
UNIT_WORDS = {
    DurationUnit.WORKING_HOURS: "jam kerja",
    DurationUnit.WORKING_DAYS: "hari kerja",
    DurationUnit.CALENDAR_DAYS: "hari",
}
SUBMITTED = frozenset({CellStatus.ON_TIME, CellStatus.LATE, CellStatus.RETURNED})
CURRENT_STEP_WORDS = 6  # words of the activity naming the current step in the recap


# -- the cycle report -----------------------------------------------------------------------------

def cycle_content(session: Session, cycle_id: uuid.UUID, *, at: datetime) -> CycleReportContent:
    """Everything the cycle report shows, as of `at` (active steps count their time to `at`)."""
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise NotFound("Siklus")
    tenant = session.get_one(Tenant, cycle.tenant_id)
    definition = definition_of(session.get_one(SopTemplate, cycle.template_id))
    calendar = calendar_for(session, cycle.tenant_id)
    steps = list(session.scalars(select(CycleStep).where(CycleStep.cycle_id == cycle.id)
                                 .order_by(CycleStep.number)))
    extensions = _extensions(session, [cycle.id])[cycle.id]
    collection = _collections(session, [cycle], {cycle.id: steps}, {cycle.id: extensions},
                              files=True)[cycle.id]
    columns = tuple(DocumentTypeColumn(code=code, label=definition.document_label(code))
                    for code in collection.columns(definition))
    rows = tuple(_bidang_row(collection, bidang_id, columns)
                 for bidang_id in collection.bidang_order())
    evaluation = _evaluations(session, [cycle.id]).get(cycle.id)
    return CycleReportContent(
        header=_header(definition, tenant=tenant, cycle=cycle, time_zone=calendar.time_zone),
        cycle_state=cycle.state,
        opened_at=cycle.opened_at,
        steps=_step_lines(steps, definition, calendar, cycle=cycle, at=at),
        extensions=tuple(_extension_line(e) for e in extensions),
        document_types=columns,
        bidang_rows=rows,
        totals=_totals(collection),
        lke=_lke_summary(evaluation) if evaluation else None,
        evidence=_evidence(collection, columns),
    )


def _header(definition: SopTemplateDefinition, *, tenant: Tenant, cycle: Cycle,
            time_zone: str) -> SopHeader:
    header = definition.header
    approver = header.get("approved_by") or {}
    return SopHeader(
        dinas=tenant.name, sop_name=definition.name, sop_number=header["number"],
        created_on=_iso(header.get("created_on")), revised_on=_iso(header.get("revised_on")),
        effective_on=_iso(header.get("effective_on")),
        approver_title=approver.get("title", ""), approver_name=approver.get("name", ""),
        year=cycle.year, time_zone=time_zone)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


# -- the timeline ---------------------------------------------------------------------------------

def _step_lines(steps: Sequence[CycleStep], definition: SopTemplateDefinition,
                calendar: WorkingCalendar, *, cycle: Cycle, at: datetime) -> tuple[StepLine, ...]:
    """Planned against actual, in the tenant's working time. A step not started yet is planned
    from the end of the one before it (its completion, else its deadline)."""
    lines = []
    previous_end = cycle.opened_at
    for step in steps:
        spec = definition.step(step.number)
        start = step.started_at or previous_end
        planned_end = calendar.add(start, spec.duration.amount, spec.duration.unit)
        previous_end = step.completed_at or step.due_at or planned_end
        lines.append(StepLine(
            number=step.number, activity=spec.activity,
            executors=", ".join(role.label for role in spec.actors),
            planned=_duration_words(spec.duration),
            planned_hours=_hours(calendar.working_time_between(start, planned_end)),
            started_at=step.started_at, due_at=step.due_at, completed_at=step.completed_at,
            actual_hours=_actual_hours(step, calendar, at=at), state=step.state,
            met=_met(step, at=at)))
    return tuple(lines)


def _duration_words(duration: Duration) -> str:
    return f"{duration.amount} {UNIT_WORDS[duration.unit]}"


def _hours(span: timedelta) -> Decimal:
    return round_half_up(Decimal(round(span.total_seconds())) / HOUR)


def _actual_hours(step: CycleStep, calendar: WorkingCalendar, *, at: datetime) -> Decimal | None:
    if step.started_at is None:
        return None
    if step.state == StepState.COMPLETED and step.completed_at is not None:
        return _hours(calendar.working_time_between(step.started_at, step.completed_at))
    if step.state == StepState.ACTIVE:
        return _hours(calendar.working_time_between(step.started_at, at))
    return None


def _met(step: CycleStep, *, at: datetime) -> bool | None:
    """Completed: by its deadline in force? Active: False once overdue, else not known yet."""
    if step.state == StepState.COMPLETED and step.completed_at is not None:
        return step.due_at is None or step.completed_at <= step.due_at
    if step.state == StepState.ACTIVE and step.due_at is not None and at > step.due_at:
        return False
    return None


# -- extensions -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Extension:
    cycle_id: uuid.UUID
    bidang_id: uuid.UUID | None
    bidang: str | None
    due_at: datetime
    reason: str
    granted_by: str | None
    granted_at: datetime


def _extensions(session: Session,
                cycle_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[_Extension]]:
    found: dict[uuid.UUID, list[_Extension]] = {cycle_id: [] for cycle_id in cycle_ids}
    if not cycle_ids:
        return found
    rows = session.execute(
        select(CollectionExtension.cycle_id, CollectionExtension.bidang_id, Bidang.name,
               CollectionExtension.due_at, CollectionExtension.reason, User.full_name,
               CollectionExtension.granted_at)
        .outerjoin(Bidang, Bidang.id == CollectionExtension.bidang_id)
        .outerjoin(User, User.id == CollectionExtension.granted_by)
        .where(CollectionExtension.cycle_id.in_(cycle_ids))
        .order_by(CollectionExtension.granted_at, CollectionExtension.due_at))
    for row in rows:
        found[row[0]].append(_Extension(*row))
    return found


def _extension_line(extension: _Extension) -> ExtensionLine:
    return ExtensionLine(scope=extension.bidang or ALL_BIDANG, due_at=extension.due_at,
                         reason=extension.reason, granted_by=extension.granted_by or SYSTEM_ACTOR,
                         granted_at=extension.granted_at)


def deadline_in_force(extensions: Iterable[_Extension], bidang_id: uuid.UUID,
                      step_due: datetime | None) -> datetime | None:
    """As `shared.cycles.collection.collection_deadline`, from rows already read: the latest
    extension for the Bidang or the whole cycle, else step 5's due time."""
    extended = [e.due_at for e in extensions if e.bidang_id in (None, bidang_id)]
    return max(extended) if extended else step_due


# -- the matrix -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Version:
    id: uuid.UUID
    item_id: uuid.UUID
    number: int
    first_submitted_at: datetime | None
    sha256: str = ""
    size_bytes: int = 0
    filename: str = ""
    title: str = ""


@dataclass
class _Item:
    bidang_id: uuid.UUID
    code: str
    state: str
    versions: list[_Version] = field(default_factory=list)  # oldest first
    accepted: _Version | None = None  # the version of the latest acceptance
    accepted_at: datetime | None = None

    def status(self, deadline: datetime | None) -> CellStatus:
        if self.state == ItemState.ACCEPTED and self.accepted is not None:
            return _timeliness(self.accepted, deadline)
        if self.state == ItemState.SUBMITTED and self.versions:
            return _timeliness(self.versions[-1], deadline)
        if self.state == ItemState.RETURNED or any(
                v.first_submitted_at is not None for v in self.versions):
            # returned, and its replacement (if any) not handed in yet
            return CellStatus.RETURNED
        return CellStatus.MISSING


def _timeliness(version: _Version, deadline: datetime | None) -> CellStatus:
    submitted = version.first_submitted_at
    if submitted is None:  # not reachable through intake; a version never handed in
        return CellStatus.MISSING
    late = deadline is not None and submitted > deadline
    return CellStatus.LATE if late else CellStatus.ON_TIME


@dataclass
class _Collection:
    """One cycle's document list and where each document stands."""

    required: dict[uuid.UUID, list[str]]  # Bidang -> document types owed
    names: dict[uuid.UUID, str]
    deadlines: dict[uuid.UUID, datetime | None]
    items: dict[tuple[uuid.UUID, str], _Item]

    def columns(self, definition: SopTemplateDefinition) -> list[str]:
        owed = {code for codes in self.required.values() for code in codes}
        order = {d.code: i for i, d in enumerate(definition.document_types)}
        return sorted(owed, key=lambda code: (order.get(code, len(order)), code))

    def bidang_order(self) -> list[uuid.UUID]:
        return sorted(self.required, key=lambda b: _natural(self.names.get(b, "")))

    def status(self, bidang_id: uuid.UUID, code: str) -> CellStatus:
        if code not in self.required.get(bidang_id, ()):
            return CellStatus.NOT_REQUIRED
        item = self.items.get((bidang_id, code))
        return item.status(self.deadlines.get(bidang_id)) if item else CellStatus.MISSING

    def counts(self) -> dict[CellStatus, int]:
        counted = dict.fromkeys(CellStatus, 0)
        for bidang_id, codes in self.required.items():
            for code in codes:
                counted[self.status(bidang_id, code)] += 1
        return counted


def _natural(name: str) -> list[Any]:
    """"Bidang 2" before "Bidang 10"."""
    return [int(part) if part.isdigit() else part.casefold()
            for part in re.split(r"(\d+)", name)]


def _collections(session: Session, cycles: Sequence[Cycle],
                 steps: Mapping[uuid.UUID, Sequence[CycleStep]],
                 extensions: Mapping[uuid.UUID, Sequence[_Extension]], *,
                 files: bool) -> dict[uuid.UUID, _Collection]:
    """The document list and item states of several cycles in four queries (with `files`, the
    versions' file details for the evidence annex too)."""
    ids = [c.id for c in cycles]
    found = {cycle_id: _Collection(required={}, names={}, deadlines={}, items={})
             for cycle_id in ids}
    if not ids:
        return found
    for cycle_id, bidang_id, name, code in session.execute(
            select(CycleRequirement.cycle_id, CycleRequirement.bidang_id, Bidang.name,
                   CycleRequirement.document_type)
            .join(Bidang, Bidang.id == CycleRequirement.bidang_id)
            .where(CycleRequirement.cycle_id.in_(ids))
            .order_by(CycleRequirement.document_type)):
        collection = found[cycle_id]
        collection.required.setdefault(bidang_id, []).append(code)
        collection.names[bidang_id] = name
    for cycle_id, collection in found.items():
        due = next((s.due_at for s in steps.get(cycle_id, ()) if s.number == COLLECTION_STEP),
                   None)
        collection.deadlines = {b: deadline_in_force(extensions.get(cycle_id, ()), b, due)
                                for b in collection.required}

    # Only packages of the cycle's own tenant count: nothing of another dinas can leak in.
    in_cycles = and_(Submission.cycle_id.in_(ids),
                     Submission.tenant_id == Cycle.tenant_id, Cycle.id == Submission.cycle_id)
    items: dict[uuid.UUID, _Item] = {}
    for item_id, cycle_id, bidang_id, code, state in session.execute(
            select(SubmissionItem.id, Submission.cycle_id, Submission.bidang_id,
                   SubmissionItem.document_type, SubmissionItem.state)
            .join(Submission, Submission.id == SubmissionItem.submission_id)
            .join(Cycle, in_cycles)):
        items[item_id] = found[cycle_id].items[bidang_id, code] = _Item(bidang_id, code, state)

    columns: list[Any] = [DocumentVersion.id, DocumentVersion.item_id, DocumentVersion.number,
                          DocumentVersion.first_submitted_at]
    if files:
        columns += [DocumentVersion.sha256, DocumentVersion.size_bytes,
                    DocumentVersion.filename, DocumentVersion.title]
    versions: dict[uuid.UUID, _Version] = {}
    for row in session.execute(
            select(*columns)
            .join(SubmissionItem, SubmissionItem.id == DocumentVersion.item_id)
            .join(Submission, Submission.id == SubmissionItem.submission_id)
            .join(Cycle, in_cycles)
            .where(DocumentVersion.tenant_id == Submission.tenant_id)
            .order_by(DocumentVersion.item_id, DocumentVersion.number)):
        version = versions[row[0]] = _Version(*row)
        items[version.item_id].versions.append(version)

    for item_id, version_id, reviewed_at in session.execute(
            select(ItemReview.item_id, ItemReview.version_id, ItemReview.reviewed_at)
            .join(SubmissionItem, SubmissionItem.id == ItemReview.item_id)
            .join(Submission, Submission.id == SubmissionItem.submission_id)
            .join(Cycle, in_cycles)
            .where(ItemReview.decision == "accepted", ItemReview.tenant_id == Submission.tenant_id)
            .order_by(ItemReview.reviewed_at)):
        item = items[item_id]
        item.accepted, item.accepted_at = versions.get(version_id), reviewed_at  # latest wins
    return found


def _rate(part: int, whole: int) -> Decimal:
    return round_half_up(Decimal(part) * 100 / Decimal(whole)) if whole else ZERO


def _bidang_row(collection: _Collection, bidang_id: uuid.UUID,
                columns: Sequence[DocumentTypeColumn]) -> BidangRow:
    cells = {c.code: collection.status(bidang_id, c.code) for c in columns}
    required = sum(1 for s in cells.values() if s is not CellStatus.NOT_REQUIRED)
    on_time = sum(1 for s in cells.values() if s is CellStatus.ON_TIME)
    submitted = sum(1 for s in cells.values() if s in SUBMITTED)
    return BidangRow(bidang=collection.names.get(bidang_id, ""), cells=cells, required=required,
                     submitted=submitted, on_time=on_time,
                     reporting_rate=_rate(submitted, required),
                     on_time_rate=_rate(on_time, required))


def _totals(collection: _Collection) -> Totals:
    counts = collection.counts()
    required = sum(len(codes) for codes in collection.required.values())
    submitted = sum(counts[s] for s in SUBMITTED)
    return Totals(required=required, submitted=submitted, on_time=counts[CellStatus.ON_TIME],
                  late=counts[CellStatus.LATE], returned=counts[CellStatus.RETURNED],
                  missing=counts[CellStatus.MISSING],
                  reporting_rate=_rate(submitted, required),
                  on_time_rate=_rate(counts[CellStatus.ON_TIME], required))


def _evidence(collection: _Collection,
              columns: Sequence[DocumentTypeColumn]) -> tuple[EvidenceLine, ...]:
    """Every accepted version, by Bidang then document type (the matrix's order)."""
    lines = []
    for bidang_id in collection.bidang_order():
        for column in columns:
            item = collection.items.get((bidang_id, column.code))
            if item is None or item.state != ItemState.ACCEPTED or item.accepted is None:
                continue
            version = item.accepted
            lines.append(EvidenceLine(
                bidang=collection.names.get(bidang_id, ""), document_type=column.label,
                title=version.title, filename=version.filename, version=version.number,
                size_bytes=version.size_bytes, sha256=version.sha256,
                accepted_at=item.accepted_at))
    return tuple(lines)


# -- the LKE --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Evaluation:
    row: Evaluation
    definition: RubricDefinition
    score: Score


def _evaluations(session: Session,
                 cycle_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, _Evaluation]:
    """Each cycle's LKE scored afresh from its saved answers (two queries)."""
    if not cycle_ids:
        return {}
    pairs = session.execute(select(Evaluation, Rubric)
                            .join(Rubric, Rubric.id == Evaluation.rubric_id)
                            .where(Evaluation.cycle_id.in_(cycle_ids))).all()
    answers: dict[uuid.UUID, dict[str, str | None]] = defaultdict(dict)
    for evaluation_id, criterion, answer in session.execute(
            select(EvaluationAnswer.evaluation_id, EvaluationAnswer.criterion,
                   EvaluationAnswer.answer)
            .join(Evaluation, and_(Evaluation.id == EvaluationAnswer.evaluation_id,
                                   Evaluation.tenant_id == EvaluationAnswer.tenant_id))
            .where(Evaluation.cycle_id.in_(cycle_ids))):
        answers[evaluation_id][criterion] = answer
    definitions: dict[uuid.UUID, RubricDefinition] = {}
    found = {}
    for evaluation, rubric in pairs:
        definition = definitions.get(rubric.id)
        if definition is None:
            definition = definitions[rubric.id] = rubric_from_dict(
                rubric.definition, source_name=f"{rubric.code} v{rubric.version}")
        found[evaluation.cycle_id] = _Evaluation(
            row=evaluation, definition=definition,
            score=score(definition, answers.get(evaluation.id, {})))
    return found


def _lke_summary(evaluation: _Evaluation) -> LkeSummary:
    definition, result = evaluation.definition, evaluation.score
    return LkeSummary(
        rubric=f"{definition.name} (versi {definition.version})",
        state=evaluation.row.state,
        components=tuple(
            ScoreLine(code=c.code, name=c.name, weight=c.weight, score=c.score,
                      parts=tuple(ScoreLine(code=p.code, name=p.name, weight=p.weight,
                                            score=p.score) for p in c.parts))
            for c in result.components),
        total=result.total, grade=result.grade.grade, grade_label=result.grade.label,
        findings=evaluation.row.findings or "",
        recommendations=evaluation.row.recommendations or "")


# -- the city recap -------------------------------------------------------------------------------

def city_recap_content(session: Session, *, year: int, city: str,
                       at: datetime) -> CityRecapContent:
    """Every active dinas side by side for `year`: its cycle of that year (the running or
    completed one; a cancelled one only when there is no other), or "none". A fixed number of
    queries whatever the number of dinas. `at` is when the recap is taken (the content holds
    no time-dependent figure today; kept for the same signature as `cycle_content`)."""
    del at
    tenants = list(session.scalars(select(Tenant).where(Tenant.active.is_(True))
                                   .order_by(Tenant.name)))
    chosen = _cycles_of_year(session, [t.id for t in tenants], year)
    cycles = list(chosen.values())
    ids = [c.id for c in cycles]
    steps: dict[uuid.UUID, list[CycleStep]] = defaultdict(list)
    if ids:
        for step in session.scalars(select(CycleStep).where(CycleStep.cycle_id.in_(ids))
                                    .order_by(CycleStep.cycle_id, CycleStep.number)):
            steps[step.cycle_id].append(step)
    templates = {t.id: definition_of(t) for t in session.scalars(
        select(SopTemplate).where(SopTemplate.id.in_({c.template_id for c in cycles})))} \
        if cycles else {}
    collections = _collections(session, cycles, steps, _extensions(session, ids), files=False)
    evaluations = _evaluations(session, ids)
    approved = set(session.scalars(select(Report.cycle_id).where(
        Report.cycle_id.in_(ids), Report.kind == ReportKind.CYCLE,
        Report.decision == ReportDecision.APPROVED))) if ids else set()
    rows = []
    for tenant in tenants:
        cycle = chosen.get(tenant.id)
        if cycle is None:
            rows.append(RecapRow(dinas=tenant.name, cycle_state=NO_CYCLE, steps_completed=0,
                                 steps_total=0, current_step=None, reporting_rate=ZERO,
                                 on_time_rate=ZERO, total=None, grade=None,
                                 report_approved=False))
            continue
        totals = _totals(collections[cycle.id])
        evaluation = evaluations.get(cycle.id)
        cycle_steps = steps.get(cycle.id, [])
        rows.append(RecapRow(
            dinas=tenant.name, cycle_state=cycle.state,
            steps_completed=sum(1 for s in cycle_steps if s.state == StepState.COMPLETED),
            steps_total=len(cycle_steps),
            current_step=_current_step(cycle_steps, templates[cycle.template_id]),
            reporting_rate=totals.reporting_rate, on_time_rate=totals.on_time_rate,
            total=evaluation.score.total if evaluation else None,
            grade=evaluation.score.grade.grade if evaluation else None,
            report_approved=cycle.id in approved))
    return CityRecapContent(city=city, year=year, time_zone=DEFAULT_TIME_ZONE, rows=tuple(rows))


def _cycles_of_year(session: Session, tenant_ids: Sequence[uuid.UUID],
                    year: int) -> dict[uuid.UUID, Cycle]:
    if not tenant_ids:
        return {}
    chosen: dict[uuid.UUID, Cycle] = {}
    # At most one cycle per tenant and year is not cancelled; cancelled ones sort last, the
    # most recently opened first.
    for cycle in session.scalars(select(Cycle).where(Cycle.tenant_id.in_(tenant_ids),
                                                     Cycle.year == year)
                                 .order_by(Cycle.opened_at.desc())):
        current = chosen.get(cycle.tenant_id)
        if current is None or (current.state == CycleState.CANCELLED
                               and cycle.state != CycleState.CANCELLED):
            chosen[cycle.tenant_id] = cycle
    return chosen


def _current_step(steps: Sequence[CycleStep], definition: SopTemplateDefinition) -> str | None:
    """The active step, e.g. "5. Pengumpulan data kinerja dari masing-masing Bidang ..."."""
    active = next((s for s in steps if s.state == StepState.ACTIVE), None)
    if active is None:
        return None
    words = definition.step(active.number).activity.split()
    shown = " ".join(words[:CURRENT_STEP_WORDS])
    return f"{active.number}. {shown}{' ...' if len(words) > CURRENT_STEP_WORDS else ''}"
