"""Check a scripted city against its plan: every inconsistency between what the plan says
happened (`sakip.city.plan`) and what the platform holds, read directly from the database,
Redis and object storage (never through the services, so a service's own bug cannot hide).

`check_city` returns readable lines naming the dinas, Bidang and document; an empty list means
the city is exactly as planned:

- people: every dinas with its Bidang and its people holding their roles, the city users;
- cycle: the dinas's cycle of the plan's year, completed with all its steps;
- collection: per Bidang and document, intake's package/item/versions/reviews and the
  workflow's projection agree with the document's fate, the closure lists who missed what,
  the late Bidang handed in after step 5's own deadline under an extension with its reason;
- steps: a step done after its deadline was marked overdue and escalated once per recipient;
  the plan's late steps are among them; a step done in time has no overdue alert;
- reports: one approved (plus one returned when planned), built from the final evaluation,
  archived and received, its matrix counts those of the plan;
- objects: every stored object holds the recorded size and SHA-256, none is unreferenced;
- events: nothing unsent, pending or dead, every workflow event applied by the workflow.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
from minio.error import S3Error
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session
from urllib3.exceptions import HTTPError

from sakip.city.plan import CityBidang, CityPlan, DinasPlan
from sakip.seeding import Fate
from services.reporting.archive import Archive
from services.reporting.gather import cycle_content
from services.workflow.consumer import GROUP as WORKFLOW_GROUP
from services.workflow.handlers import HANDLERS as WORKFLOW_HANDLERS
from shared import clock
from shared.config import Settings
from shared.cycles.collection import COLLECTION_STEP
from shared.cycles.events import STEP_ESCALATED, STEP_OVERDUE
from shared.cycles.models import (
    AlertStage,
    CollectionClosure,
    CollectionExtension,
    CollectionItem,
    CollectionPackage,
    Cycle,
    CycleRequirement,
    CycleState,
    CycleStep,
    Notification,
    StepState,
)
from shared.db import make_engine, make_session_factory
from shared.documents.models import (
    CycleDocument,
    DocumentVersion,
    ItemReview,
    ItemState,
    PackageState,
    Submission,
    SubmissionItem,
)
from shared.events.connection import make_redis_client
from shared.events.dead_letters import dead_letter_stream, list_dead_letters
from shared.events.models import InboxEntry, OutboxEvent
from shared.identity.models import Bidang, Tenant, User
from shared.identity.roles import Role
from shared.reporting.models import (
    Evaluation,
    EvaluationState,
    Report,
    ReportDecision,
    ReportKind,
    ReportReceipt,
    ReportState,
)
from shared.storage import ObjectStore, StorageError

STEPS = 6
DINAS_ROLES = (Role.KEPALA_DINAS, Role.KASUBBAG_PROGRAM, Role.TIM_EVALUASI)
NOT_ACCEPTED = (Fate.RETURNED, Fate.MISSING)  # listed as missing when the collection closes
OBJECT_READERS = 8


def check_city(plan: CityPlan, settings: Settings) -> list[str]:
    """Every inconsistency between `plan` and the platform `settings` point at."""
    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            problems = _city_people(session, plan)
            tenants: dict[str, uuid.UUID] = {}
            for dinas in plan.dinas:
                tenant = session.scalars(select(Tenant).where(Tenant.slug == dinas.slug)).first()
                if tenant is None:
                    problems.append(f"{dinas.slug}: dinas {dinas.name!r} does not exist")
                    continue
                tenants[dinas.slug] = tenant.id
                problems += check_dinas(session, plan, dinas, tenant)
            problems += check_objects(session, settings, tenants)
            problems += check_events(session, settings)
            return problems
    finally:
        engine.dispose()


# -- people ---------------------------------------------------------------------------------------

def _city_people(session: Session, plan: CityPlan) -> list[str]:
    return [problem for username, role in ((plan.bagian_organisasi, Role.BAGIAN_ORGANISASI),
                                           (plan.inspektur, Role.INSPEKTUR),
                                           (plan.platform_admin, Role.PLATFORM_ADMIN))
            for problem in _person(session, "kota", username, role, tenant_id=None)]


def _person(session: Session, where: str, username: str, role: Role,
            *, tenant_id: uuid.UUID | None, bidang_id: uuid.UUID | None = None) -> list[str]:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        return [f"{where}: user {username} ({role.value}) does not exist"]
    problems = []
    if not user.active:
        problems.append(f"{where}: user {username} is not active")
    if not any(g.role == role.value and g.tenant_id == tenant_id for g in user.grants):
        problems.append(f"{where}: user {username} does not hold the role {role.value}")
    if bidang_id is not None and user.bidang_id != bidang_id:
        problems.append(f"{where}: user {username} is not in its Bidang")
    return problems


def _dinas_people(session: Session, dinas: DinasPlan, tenant: Tenant,
                  bidang_ids: dict[str, uuid.UUID]) -> list[str]:
    problems = [p for role in DINAS_ROLES
                for p in _person(session, dinas.slug, dinas.username(role.value), role,
                                 tenant_id=tenant.id)]
    for bidang in dinas.bidang:
        if bidang.name in bidang_ids:
            problems += _person(session, f"{dinas.slug} / {bidang.name}", bidang.staff_username,
                                Role.BIDANG_STAFF, tenant_id=tenant.id,
                                bidang_id=bidang_ids[bidang.name])
    return problems


# -- one dinas ------------------------------------------------------------------------------------

def check_dinas(session: Session, plan: CityPlan, dinas: DinasPlan, tenant: Tenant) -> list[str]:
    bidang_ids = {name: bidang_id for name, bidang_id in session.execute(
        select(Bidang.name, Bidang.id).where(Bidang.tenant_id == tenant.id,
                                             Bidang.closed_at.is_(None)))}
    planned = {b.name for b in dinas.bidang}
    problems = [f"{dinas.slug}: Bidang {name!r} is missing" for name in sorted(
        planned - set(bidang_ids))]
    problems += [f"{dinas.slug}: Bidang {name!r} was not planned" for name in sorted(
        set(bidang_ids) - planned)]
    problems += _dinas_people(session, dinas, tenant, bidang_ids)
    cycle = session.scalars(select(Cycle).where(
        Cycle.tenant_id == tenant.id, Cycle.year == plan.year,
        Cycle.state != CycleState.CANCELLED.value)).first()
    if cycle is None:
        return [*problems, f"{dinas.slug}: no cycle {plan.year}"]
    steps = {s.number: s for s in session.scalars(
        select(CycleStep).where(CycleStep.cycle_id == cycle.id))}
    if cycle.state != CycleState.COMPLETED.value:
        problems.append(f"{dinas.slug}: cycle {plan.year} is {cycle.state}, not completed")
    for number in range(1, STEPS + 1):
        state = steps[number].state if number in steps else "absent"
        if state != StepState.COMPLETED.value:
            problems.append(f"{dinas.slug}: step {number} is {state}, not completed")
    problems += check_collection(session, dinas, cycle, bidang_ids, steps.get(COLLECTION_STEP))
    problems += check_steps(session, dinas, steps)
    problems += check_reports(session, plan, dinas, cycle)
    return problems


# -- the collection (step 5) ----------------------------------------------------------------------

@dataclass
class _Held:
    """What intake and the workflow hold of one Bidang's package."""

    submission: Submission | None
    items: dict[str, SubmissionItem]
    versions: dict[str, list[DocumentVersion]]
    returns: Counter[str]
    package: CollectionPackage | None
    projected: dict[str, str]  # document type -> the workflow's item state
    required: set[str]


def _held(session: Session, cycle: Cycle, bidang_id: uuid.UUID) -> _Held:
    submission = session.scalars(select(Submission).where(
        Submission.cycle_id == cycle.id, Submission.bidang_id == bidang_id)).first()
    items: dict[str, SubmissionItem] = {}
    versions: dict[str, list[DocumentVersion]] = defaultdict(list)
    returns: Counter[str] = Counter()
    if submission is not None:
        items = {i.document_type: i for i in session.scalars(
            select(SubmissionItem).where(SubmissionItem.submission_id == submission.id))}
        types = {i.id: code for code, i in items.items()}
        for version in session.scalars(select(DocumentVersion).where(
                DocumentVersion.item_id.in_(types)).order_by(DocumentVersion.number)):
            versions[types[version.item_id]].append(version)
        returns.update(types[item_id] for item_id in session.scalars(select(ItemReview.item_id)
                       .where(ItemReview.item_id.in_(types), ItemReview.decision == "returned")))
    package = session.scalars(select(CollectionPackage).where(
        CollectionPackage.cycle_id == cycle.id, CollectionPackage.bidang_id == bidang_id)).first()
    projected = {code: state for code, state in session.execute(
        select(CollectionItem.document_type, CollectionItem.state).where(
            CollectionItem.cycle_id == cycle.id, CollectionItem.bidang_id == bidang_id))}
    required = set(session.scalars(select(CycleRequirement.document_type).where(
        CycleRequirement.cycle_id == cycle.id, CycleRequirement.bidang_id == bidang_id)))
    return _Held(submission, items, versions, returns, package, projected, required)


def check_collection(session: Session, dinas: DinasPlan, cycle: Cycle,
                     bidang_ids: dict[str, uuid.UUID], step: CycleStep | None) -> list[str]:
    problems: list[str] = []
    closures = list(session.scalars(select(CollectionClosure).where(
        CollectionClosure.cycle_id == cycle.id)))
    if dinas.complete_by_itself and closures:
        problems.append(f"{dinas.slug}: the collection was closed by hand although every "
                        "document was accepted")
    if not dinas.complete_by_itself and len(closures) != 1:
        problems.append(f"{dinas.slug}: {len(closures)} closures of the collection, expected 1")
    missing = closures[0].missing if len(closures) == 1 else None
    for bidang in dinas.bidang:
        if bidang.name not in bidang_ids:
            continue
        where = f"{dinas.slug} / {bidang.name}"
        bidang_id = bidang_ids[bidang.name]
        held = _held(session, cycle, bidang_id)
        problems += _package(where, bidang, held)
        for document in bidang.documents:
            problems += _document(f"{where} / {document.document_type}", document.fate, held)
        if missing is not None:
            owed = {d.document_type for d in bidang.documents if d.fate in NOT_ACCEPTED}
            listed = set(missing.get(str(bidang_id), ()))
            if listed != owed:
                problems.append(f"{where}: the closure lists {sorted(listed)} as missing, "
                                f"the plan {sorted(owed)}")
        if bidang.extension_reason is not None:
            problems += _extension(session, where, bidang, cycle, bidang_id, held, step)
    return problems


def _package(where: str, bidang: CityBidang, held: _Held) -> list[str]:
    problems = []
    planned = {d.document_type for d in bidang.documents}
    if held.required != planned:
        problems.append(f"{where}: the document list says {sorted(held.required)}, the plan "
                        f"{sorted(planned)}")
    fates = {d.fate for d in bidang.documents}
    intake = held.submission.state if held.submission else "absent"
    workflow = held.package.state if held.package else "absent"
    if Fate.MISSING in fates:
        if held.submission is not None and held.submission.submitted_at is not None:
            problems.append(f"{where}: never to be handed in, but submitted "
                            f"at {held.submission.submitted_at:%Y-%m-%d %H:%M}")
        if workflow not in ("absent", "not_submitted"):
            problems.append(f"{where}: never handed in, but the workflow has its package "
                            f"{workflow}")
        return problems
    expected = PackageState.RETURNED if Fate.RETURNED in fates else PackageState.ACCEPTED
    if intake != expected.value:
        problems.append(f"{where}: intake has the package {intake}, expected {expected.value}")
    if workflow != expected.value:
        problems.append(f"{where}: the workflow has the package {workflow}, "
                        f"expected {expected.value}")
    return problems


def _document(where: str, fate: Fate, held: _Held) -> list[str]:
    """One document against its fate: intake's item, versions and returns, and the workflow's
    item. A MISSING document may have a draft uploaded, never handed in."""
    code = where.rsplit(" / ", 1)[1]
    item = held.items.get(code)
    intake = item.state if item else "absent"
    workflow = held.projected.get(code, "absent")
    versions = held.versions.get(code, [])
    returns = held.returns[code]
    problems = []
    if fate is Fate.MISSING:
        if intake not in ("absent", ItemState.MISSING.value, ItemState.UPLOADED.value):
            problems.append(f"{where}: {fate.value} but intake has it {intake}")
        if workflow not in ("absent", ItemState.UPLOADED.value):
            problems.append(f"{where}: {fate.value} but the workflow has it {workflow}")
        if any(v.first_submitted_at is not None for v in versions):
            problems.append(f"{where}: {fate.value} but a version was handed in")
        return problems
    expected = ItemState.RETURNED if fate is Fate.RETURNED else ItemState.ACCEPTED
    if intake != expected.value:
        problems.append(f"{where}: {fate.value} but intake has it {intake}")
    if workflow != expected.value:
        problems.append(f"{where}: {fate.value} but the workflow has it {workflow}")
    counts = {Fate.ON_TIME: (1, 0), Fate.RETURNED: (1, 1), Fate.RESUBMITTED: (2, 1)}
    if fate in counts:  # LATE (never planned by a city) has no fixed history
        least, expected_returns = counts[fate]
        exact = fate is not Fate.RESUBMITTED
        if len(versions) < least or (exact and len(versions) != least):
            problems.append(f"{where}: {fate.value} with {len(versions)} stored version(s)")
        if returns != expected_returns:
            problems.append(f"{where}: {fate.value} with {returns} return(s) recorded, "
                            f"expected {expected_returns}")
    return problems


def _extension(session: Session, where: str, bidang: CityBidang, cycle: Cycle,
               bidang_id: uuid.UUID, held: _Held, step: CycleStep | None) -> list[str]:
    extensions = list(session.scalars(select(CollectionExtension).where(
        CollectionExtension.cycle_id == cycle.id, CollectionExtension.bidang_id == bidang_id)))
    problems = []
    if not any(e.reason == bidang.extension_reason for e in extensions):
        problems.append(f"{where}: no extension with the planned reason "
                        f"({len(extensions)} extension(s))")
    handed_in = [v.first_submitted_at for vs in held.versions.values() for v in vs
                 if v.first_submitted_at is not None]
    due = step.due_at if step else None
    if not handed_in or due is None or min(handed_in) <= due:
        problems.append(f"{where}: late under an extension, but not handed in after step 5's "
                        "own deadline")
    return problems


# -- steps, overdue alerts ------------------------------------------------------------------------

def check_steps(session: Session, dinas: DinasPlan, steps: dict[int, CycleStep]) -> list[str]:
    problems = []
    sent = _alerts(session, [s.id for s in steps.values()])
    for number, step in sorted(steps.items()):
        where = f"{dinas.slug}: step {number}"
        late = (step.completed_at is not None and step.due_at is not None
                and step.completed_at > step.due_at)
        overdue, escalated = sent[(step.id, STEP_OVERDUE)], sent[(step.id, STEP_ESCALATED)]
        if number in dinas.late_steps and not late:
            problems.append(f"{where} was planned late but completed by its deadline")
        if late:
            if step.alert_stage < AlertStage.OVERDUE:
                problems.append(f"{where} completed after its deadline without being marked "
                                f"overdue (alert stage {step.alert_stage})")
            if not overdue:
                problems.append(f"{where} completed after its deadline, nobody was told")
        elif step.alert_stage >= AlertStage.OVERDUE or overdue:
            problems.append(f"{where} done in time has an overdue alert")
        for kind, counted in ((STEP_OVERDUE, overdue), (STEP_ESCALATED, escalated)):
            twice = sum(1 for n in counted.values() if n > 1)
            if twice:
                problems.append(f"{where}: {twice} recipient(s) got {kind} more than once")
    return problems


def _alerts(session: Session, step_ids: list[uuid.UUID],
            ) -> defaultdict[tuple[uuid.UUID, str], dict[uuid.UUID, int]]:
    rows = session.execute(
        select(Notification.step_id, Notification.kind, Notification.user_id, func.count())
        .where(Notification.step_id.in_(step_ids),
               Notification.kind.in_((STEP_OVERDUE, STEP_ESCALATED)))
        .group_by(Notification.step_id, Notification.kind, Notification.user_id))
    sent: defaultdict[tuple[uuid.UUID, str], dict[uuid.UUID, int]] = defaultdict(dict)
    for step_id, kind, user_id, count in rows:
        if step_id is not None:
            sent[(step_id, kind)][user_id] = count
    return sent


# -- reports --------------------------------------------------------------------------------------

def check_reports(session: Session, plan: CityPlan, dinas: DinasPlan, cycle: Cycle) -> list[str]:
    reports = list(session.scalars(select(Report).where(
        Report.cycle_id == cycle.id, Report.kind == ReportKind.CYCLE.value)))
    approved = [r for r in reports if r.decision == ReportDecision.APPROVED.value]
    returned = [r for r in reports if r.decision == ReportDecision.RETURNED.value]
    problems = []
    if len(approved) != 1:
        problems.append(f"{dinas.slug}: {len(approved)} approved report(s), expected 1")
    planned_returns = 1 if dinas.report_returned_first else 0
    if len(returned) != planned_returns:
        problems.append(f"{dinas.slug}: {len(returned)} returned report(s), "
                        f"expected {planned_returns}")
    for report in [*approved, *returned]:
        if report.state != ReportState.READY.value or not report.pdf_key or not report.xlsx_key:
            problems.append(f"{dinas.slug}: report {report.id} is {report.state} without "
                            "its PDF and XLSX")
    evaluation = session.scalars(select(Evaluation).where(
        Evaluation.cycle_id == cycle.id)).first()
    if evaluation is None or evaluation.state != EvaluationState.FINAL.value:
        problems.append(f"{dinas.slug}: the evaluation is "
                        f"{evaluation.state if evaluation else 'absent'}, not final")
    if len(approved) == 1:
        report = approved[0]
        if evaluation is not None and report.evaluation_revision != evaluation.revision:
            problems.append(f"{dinas.slug}: the approved report was built from evaluation "
                            f"revision {report.evaluation_revision}, the final one is "
                            f"{evaluation.revision}")
        if not report.archive_key:
            problems.append(f"{dinas.slug}: the approved report was not archived")
        problems += _receipts(session, plan, dinas, report)
    problems += _matrix(session, dinas, cycle, evaluation)
    return problems


def _receipts(session: Session, plan: CityPlan, dinas: DinasPlan, report: Report) -> list[str]:
    received = set(session.scalars(
        select(User.username).join(ReportReceipt, ReportReceipt.user_id == User.id)
        .where(ReportReceipt.report_id == report.id)))
    return [f"{dinas.slug}: the approved report was not acknowledged by {username}"
            for username in (plan.bagian_organisasi, plan.inspektur) if username not in received]


def planned_totals(dinas: DinasPlan) -> dict[str, int]:
    """The report matrix the plan implies: an accepted document is on time (a late Bidang hands
    in under its extension, the deadline in force), a returned one returned, a missing one
    missing."""
    fates = Counter(d.fate for b in dinas.bidang for d in b.documents)
    return {"on_time": fates[Fate.ON_TIME] + fates[Fate.RESUBMITTED], "late": 0,
            "returned": fates[Fate.RETURNED], "missing": fates[Fate.MISSING]}


def _matrix(session: Session, dinas: DinasPlan, cycle: Cycle,
            evaluation: Evaluation | None) -> list[str]:
    content = cycle_content(session, cycle.id, at=clock.now())
    totals = {name: getattr(content.totals, name) for name in ("on_time", "late", "returned",
                                                               "missing")}
    problems = []
    if totals != planned_totals(dinas):
        problems.append(f"{dinas.slug}: the report's matrix counts {totals}, the plan "
                        f"{planned_totals(dinas)}")
    if evaluation is not None and (content.lke is None or content.lke.total != evaluation.total):
        problems.append(f"{dinas.slug}: the report's LKE total "
                        f"{content.lke.total if content.lke else None} is not the evaluation's "
                        f"{evaluation.total}")
    return problems


# -- objects --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Recorded:
    key: str
    sha256: str | None
    size: int | None
    what: str


def _recorded(session: Session, tenant_ids: Iterable[uuid.UUID]) -> Iterator[_Recorded]:
    tenant_ids = list(tenant_ids)
    for key, sha, size, number, code, bidang in session.execute(
            select(DocumentVersion.object_key, DocumentVersion.sha256, DocumentVersion.size_bytes,
                   DocumentVersion.number, SubmissionItem.document_type, Bidang.name)
            .join(SubmissionItem, SubmissionItem.id == DocumentVersion.item_id)
            .join(Submission, Submission.id == SubmissionItem.submission_id)
            .join(Bidang, Bidang.id == Submission.bidang_id)
            .where(DocumentVersion.tenant_id.in_(tenant_ids))):
        yield _Recorded(key, sha, size, f"{bidang} / {code} version {number}")
    for key, sha, size, kind in session.execute(
            select(CycleDocument.object_key, CycleDocument.sha256, CycleDocument.size_bytes,
                   CycleDocument.kind).where(CycleDocument.tenant_id.in_(tenant_ids))):
        yield _Recorded(key, sha, size, f"cycle document {kind}")
    for report in session.scalars(select(Report).where(Report.tenant_id.in_(tenant_ids))):
        if report.pdf_key:
            yield _Recorded(report.pdf_key, report.pdf_sha256, report.pdf_size, "report PDF")
        if report.xlsx_key:
            yield _Recorded(report.xlsx_key, report.xlsx_sha256, report.xlsx_size, "report XLSX")


def check_objects(session: Session, settings: Settings,
                  tenants: dict[str, uuid.UUID]) -> list[str]:
    """Every recorded object read back (size and SHA-256); no object left unreferenced under a
    tenant's prefix; every approved report's PDF in the archive bucket."""
    slugs = {tenant_id: slug for slug, tenant_id in tenants.items()}
    recorded = {r.key: r for r in _recorded(session, slugs)}
    store = ObjectStore.from_settings(settings)
    problems = []
    with ThreadPoolExecutor(OBJECT_READERS) as pool:
        problems += [p for p in pool.map(lambda r: _object(store, r, slugs), recorded.values())
                     if p]
    for tenant_id, slug in slugs.items():
        for key in store.keys(f"tenants/{tenant_id}/"):
            if key not in recorded:
                problems.append(f"{slug}: object {key} is referenced by no row")
    problems += _archived(session, settings, slugs)
    return problems


def _object(store: ObjectStore, recorded: _Recorded, slugs: dict[uuid.UUID, str]) -> str | None:
    tenant_id = _tenant_of(recorded.key)
    slug = slugs.get(tenant_id, "?") if tenant_id else "?"
    try:
        found = store.describe(recorded.key)
    except (StorageError, S3Error, HTTPError) as exc:
        return f"{slug} / {recorded.what}: object {recorded.key} cannot be read ({exc})"
    if (found.size, found.sha256) != (recorded.size, recorded.sha256):
        return (f"{slug} / {recorded.what}: object holds {found.size} bytes "
                f"(SHA-256 {found.sha256[:12]}), the row records {recorded.size} bytes "
                f"(SHA-256 {(recorded.sha256 or '')[:12]})")
    return None


def _tenant_of(key: str) -> uuid.UUID | None:
    parts = key.split("/")
    try:
        return uuid.UUID(parts[1]) if len(parts) > 1 and parts[0] == "tenants" else None
    except ValueError:
        return None


def _archived(session: Session, settings: Settings, slugs: dict[uuid.UUID, str]) -> list[str]:
    archive = Archive.from_settings(settings)
    problems = []
    for report in session.scalars(select(Report).where(
            Report.tenant_id.in_(list(slugs)), Report.archive_key.is_not(None))):
        slug = slugs.get(report.tenant_id) if report.tenant_id else "?"
        try:
            held = archive.client.stat_object(archive.bucket, report.archive_key or "",
                                              version_id=report.archive_version_id)
        except (S3Error, HTTPError) as exc:
            problems.append(f"{slug}: the approved report's archive copy "
                            f"{report.archive_key} is missing ({exc})")
            continue
        metadata: Any = held.metadata or {}
        sha = metadata.get("x-amz-meta-sha256") or metadata.get("X-Amz-Meta-Sha256")
        if held.size != report.pdf_size or (sha is not None and sha != report.pdf_sha256):
            problems.append(f"{slug}: the archive copy {report.archive_key} is not the approved "
                            "PDF")
    return problems


# -- events ---------------------------------------------------------------------------------------

def check_events(session: Session, settings: Settings) -> list[str]:
    problems = []
    unsent = session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.sent_at.is_(None))) or 0
    if unsent:
        problems.append(f"events: {unsent} outbox row(s) never sent")
    unapplied = session.execute(
        select(OutboxEvent.type, func.count()).outerjoin(InboxEntry, and_(
            InboxEntry.event_id == OutboxEvent.event_id, InboxEntry.consumer == WORKFLOW_GROUP))
        .where(OutboxEvent.type.in_(list(WORKFLOW_HANDLERS)), InboxEntry.event_id.is_(None))
        .group_by(OutboxEvent.type)).all()
    problems += [f"events: {count} {kind} event(s) never applied by the workflow"
                 for kind, count in sorted(unapplied)]
    with _redis(settings) as client:
        problems += _stream(client, settings.events_stream)
    return problems


@contextmanager
def _redis(settings: Settings) -> Iterator[redis.Redis]:
    client = make_redis_client(settings.redis_url)
    try:
        yield client
    finally:
        client.close()


def _stream(client: redis.Redis, stream: str) -> list[str]:
    problems = []
    if client.exists(stream):
        last: Any = client.xinfo_stream(stream)["last-generated-id"]
        groups: Any = client.xinfo_groups(stream)
        for group in groups:
            name = _text(group["name"])
            if group["pending"]:
                problems.append(f"events: group {name} has {group['pending']} entries pending")
            lag = group.get("lag")
            behind = lag if lag is not None else int(
                _text(group["last-delivered-id"]) != _text(last))
            if behind:
                problems.append(f"events: group {name} has {behind} entries never read")
    problems += [f"events: dead letter {letter.event_type} {letter.event_id} of group "
                 f"{letter.group}: {letter.reason}"
                 for letter in list_dead_letters(client, stream=stream, count=1000)]
    dead: Any = client.xlen(dead_letter_stream(stream))
    if dead > 1000:
        problems.append(f"events: {dead} dead letters in all")
    return problems


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
