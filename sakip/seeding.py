"""A cycle brought to its collection (SOP step 5) through the real, guarded transitions, for the
demo tenant, the tests and the benchmarks: the kepala_dinas confirms step 1 and uploads the SK of
the evaluation team (step 2); the team sets the document list and uploads the guideline (step 3)
and sends the notice to every Bidang (step 4). Each step's guard is checked as in real use.

`seed_collected_cycle` goes on through step 5 the way people would (uploads, hand-ins on time
and late, returns, a replacement, an extension, the closure), so reports have a known collection
to show; `seed_collection` plays step 5 of a cycle already collecting."""

from __future__ import annotations

import copy
import io
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.intake.cycle_documents import record_cycle_document
from services.intake.packages import (
    Decision,
    VersionInput,
    add_version,
    ensure_package,
    items_of,
    review_item,
    submit_package,
)
from services.workflow.actions import (
    close_collection,
    grant_extension,
    send_notice,
    set_document_list,
)
from services.workflow.consumer import GROUP as CONSUMER_GROUP
from services.workflow.cycles import complete_step, open_cycle, publish_template
from services.workflow.handlers import HANDLERS
from shared.calendar import DurationUnit
from shared.cycles.calendars import calendar_for
from shared.cycles.collection import collection_step
from shared.cycles.models import CollectionExtension, Cycle, SopTemplate, StepState
from shared.cycles.templates import cycle_definition
from shared.documents.models import (
    CycleDocumentKind,
    DocumentVersion,
    Submission,
    SubmissionItem,
)
from shared.events import Event
from shared.events.models import InboxEntry, OutboxEvent
from shared.identity.loading import principal_for
from shared.identity.models import Bidang, RoleGrant, Tenant, User
from shared.identity.principal import Principal
from shared.identity.roles import Role
from shared.sop.template import load_shipped_template, template_from_document
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
    return assemble_pdf(objects)


def assemble_pdf(objects: list[bytes]) -> bytes:
    """A PDF file of `objects` (numbered from 1, the first the catalog) with a correct
    cross-reference table."""
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


# -- step 5, played through -------------------------------------------------------------------

class Fate(StrEnum):
    """What becomes of one document a Bidang owes, in a played collection. The value is the
    matrix cell the report shows for it (services.reporting.content.CellStatus)."""

    ON_TIME = "on_time"  # handed in before the Bidang's deadline in force, accepted
    RESUBMITTED = "resubmitted"  # returned, replaced before the deadline in force, accepted
    LATE = "late"  # accepted version first handed in after the deadline in force
    RETURNED = "returned"  # handed in on time, returned with a reason, never replaced
    MISSING = "missing"  # never handed in (the whole package stays unsubmitted)

    @property
    def cell(self) -> str:
        return "on_time" if self is Fate.RESUBMITTED else self.value


@dataclass(frozen=True)
class BidangPlan:
    """One Bidang's part in a played collection: the fate of each document type it owes (in
    the order given) and, with `extension`, the reason the kepala_dinas extends its deadline."""

    fates: Mapping[str, Fate]
    extension: str | None = None

    def __post_init__(self) -> None:
        fates = set(self.fates.values())
        if not fates:
            raise ValueError("a Bidang of the plan owes at least one document")
        if Fate.MISSING in fates and fates != {Fate.MISSING}:
            # intake takes a package only whole the first time: one missing document keeps
            # the Bidang's every document unsubmitted.
            raise ValueError("a package is handed in whole: MISSING is for every document "
                             "of a Bidang or none")


@dataclass
class PlayedCollection:
    """What the played collection did, for the assertions of tests and benchmarks."""

    cycle: Cycle
    started_at: datetime  # step 5 began
    due_at: datetime  # step 5's own deadline
    deadlines: dict[uuid.UUID, datetime]  # deadline in force per Bidang (extensions included)
    fates: dict[tuple[uuid.UUID, str], Fate]
    accepted: dict[tuple[uuid.UUID, str], DocumentVersion]  # the accepted version per cell
    items: dict[tuple[uuid.UUID, str], uuid.UUID]  # submission item ids
    returns: dict[tuple[uuid.UUID, str], str]  # reasons of the returns not followed up
    extensions: dict[uuid.UUID, CollectionExtension]
    closed_at: datetime | None  # the kasubbag_program closed it (None: not closed by hand)
    completed_at: datetime | None  # step 5 completed (None: still collecting)


RETURN_REASON = "Tanda tangan Kepala Bidang belum ada pada halaman pengesahan."
REPLACE_REASON = "Capaian triwulan IV belum dimuat; lengkapi lalu unggah kembali."
CLOSE_REASON = "Batas waktu pengumpulan (termasuk perpanjangan) telah lewat."
STEP_TIME = timedelta(minutes=10)  # between an upload and the hand-in


class _EventPump:
    """Delivers the outbox events of the seeding to the workflow's consumer handlers in the
    same transaction, as the relay and the consumer would (with the consumer's inbox row, so a
    relay publishing them later changes nothing). Every event of an action is stamped with
    the action's time: the seeding plays a past collection, and the workflow's projection
    (collection_packages/items, step 5's completion) follows the times of occurrence. Only the
    tenant's events newer than the pump are touched."""

    def __init__(self, session: Session, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.seen = session.scalar(select(func.max(OutboxEvent.seq))) or 0

    def deliver(self, at: datetime) -> None:
        while True:
            self.session.flush()
            rows = self.session.scalars(select(OutboxEvent).where(
                OutboxEvent.seq > self.seen, OutboxEvent.tenant_id == self.tenant_id)
                .order_by(OutboxEvent.seq)).all()
            if not rows:
                return
            for row in rows:
                self.seen = row.seq
                row.occurred_at = at
                handler = HANDLERS.get(row.type)
                if handler is None:
                    continue
                self.session.add(InboxEntry(consumer=CONSUMER_GROUP, event_id=row.event_id,
                                            event_type=row.type, processed_at=at))
                handler(self.session, Event(
                    id=row.event_id, type=row.type, tenant_id=row.tenant_id, occurred_at=at,
                    schema_version=row.schema_version, payload=row.payload,
                    correlation_id=row.correlation_id))


def upload_document(session: Session, store: ObjectStore, *, item: SubmissionItem,
                    package: Submission, principal: Principal, year: int, title: str,
                    at: datetime) -> DocumentVersion:
    """A Bidang staff member's soft copy (a real one-page PDF naming it, so every version has
    its own bytes and SHA-256) stored in object storage and recorded as the item's version."""
    number = 1 + (session.scalar(select(func.count()).select_from(DocumentVersion)
                                 .where(DocumentVersion.item_id == item.id)) or 0)
    body = placeholder_pdf(f"{title}, versi {number}")
    key = object_key(tenant_id=package.tenant_id, cycle_id=package.cycle_id, kind="document")
    stored = store.put_stream(key, io.BytesIO(body), content_type="application/pdf")
    try:
        version, _ = add_version(session, principal=principal, item_id=item.id, at=at,
                                 upload=VersionInput(
                                     stored=stored, kind="pdf", content_type="application/pdf",
                                     filename=f"{item.document_type.lower()}-{year}-v{number}.pdf",
                                     title=title, year=year, notes=None))
        session.flush()
    except Exception:
        store.delete(key, missing_ok=True)
        raise
    return version


def seed_collection(session: Session, store: ObjectStore, *, cycle: Cycle,
                    plan: Mapping[uuid.UUID, BidangPlan], kepala: Principal,
                    kasubbag: Principal, staff_of: Mapping[uuid.UUID, Principal],
                    close: bool = True) -> PlayedCollection:
    """Play SOP step 5 of a cycle whose collection runs (steps 1-4 done, the document list
    being `plan`'s), through intake's and the workflow's own functions at controlled times
    counted in the tenant's working time from step 5's start S and deadline D:

    - a Bidang with an `extension` gets it from the kepala_dinas at S + 4 working days, up to
      D + 3 working days, and hands in after D but within it (on time thanks to it);
      the others hand in at S + 1 working day: every document at once, 10 minutes after
      uploading it (a Bidang whose every document is LATE hands in 1 working day after its
      deadline in force instead; a Bidang whose every document is MISSING never hands in:
      its first document is uploaded but the package is never submitted);
    - the kasubbag_program reviews 2 working hours after each hand-in: ON_TIME (and LATE of a
      late package) accepted at the first review; RESUBMITTED returned then with a reason,
      replaced at S + 3 working days (D + 2 for an extended Bidang) and accepted; LATE
      returned at the review before, replaced 1 working day after the Bidang's deadline in
      force and accepted; RETURNED returned at the last review and never replaced.
      A hand-in after the deadline needs a template that takes late hand-ins
      (`late_tolerant_template`): the shipped one refuses them;
    - intake's events go to the workflow's consumer handlers as they happen (`_EventPump`);
      if every package ends accepted, the last acceptance completes step 5 by itself, else
      with `close` the kasubbag_program closes the collection 1 working day after the last
      action or deadline in force (recording who misses what). Either way step 6 is then
      active.
    """
    calendar = calendar_for(session, cycle.tenant_id)
    step = collection_step(session, cycle.id)
    if step is None or step.state != StepState.ACTIVE or step.started_at is None \
            or step.due_at is None:
        raise ValueError("the cycle's collection (step 5) is not running")
    start, due = step.started_at, step.due_at
    names = dict(session.execute(select(Bidang.id, Bidang.name).where(
        Bidang.id.in_(list(plan)))).all())
    labels = cycle_definition(session, cycle).document_label
    # The dinas's name is in every title, so no two dinas upload the same bytes.
    dinas = session.get_one(Tenant, cycle.tenant_id).name
    pump = _EventPump(session, cycle.tenant_id)
    played = PlayedCollection(cycle=cycle, started_at=start, due_at=due, deadlines={},
                              fates={}, accepted={}, items={}, returns={}, extensions={},
                              closed_at=None, completed_at=None)

    def days(t: datetime, n: int) -> datetime:
        return calendar.add(t, n, DurationUnit.WORKING_DAYS)

    def hours(t: datetime, n: int) -> datetime:
        return calendar.add(t, n, DurationUnit.WORKING_HOURS)

    actions: list[tuple[datetime, int, Callable[[datetime], None]]] = []

    def later(t: datetime, action: Callable[[datetime], None]) -> None:
        actions.append((t, len(actions), action))

    for bidang_id, bidang_plan in plan.items():
        package = ensure_package(session, cycle=cycle, bidang_id=bidang_id)
        items = {i.document_type: i for i in items_of(session, package)}
        if set(items) != set(bidang_plan.fates):
            raise ValueError(f"{names.get(bidang_id)}: the plan's documents "
                             f"{sorted(bidang_plan.fates)} are not its list {sorted(items)}")
        for code, fate in bidang_plan.fates.items():
            played.fates[bidang_id, code] = fate
            played.items[bidang_id, code] = items[code].id
        deadline = due
        if bidang_plan.extension is not None:
            deadline = days(due, 3)
            later(days(start, 4), _granting(session, played, cycle, kepala, bidang_id,
                                            deadline, bidang_plan.extension))
        played.deadlines[bidang_id] = deadline
        _plan_package(session, store, played, later=later, package=package, items=items,
                      bidang_plan=bidang_plan, staff=staff_of.get(bidang_id),
                      kasubbag=kasubbag,
                      titles={code: (f"{labels(code)} {names.get(bidang_id, '')} {dinas} "
                                     f"{cycle.year}") for code in bidang_plan.fates},
                      first_at=(days(due, 1) if bidang_plan.extension else days(start, 1)),
                      replace_at=(days(due, 2) if bidang_plan.extension else days(start, 3)),
                      late_at=days(deadline, 1), review=lambda t: hours(t, 2))

    last = start
    for at, _, action in sorted(actions, key=lambda a: (a[0], a[1])):
        action(at)
        pump.deliver(at)
        last = at
    session.refresh(step)
    if step.state == StepState.ACTIVE and close:
        # Once every deadline in force has passed, not before: 1 working day after.
        played.closed_at = closed_at = days(max(last, *played.deadlines.values()), 1)
        close_collection(session, cycle, principal=kasubbag, at=closed_at, reason=CLOSE_REASON)
        pump.deliver(closed_at)
        session.refresh(step)
    played.completed_at = step.completed_at if step.state == StepState.COMPLETED else None
    return played


def _granting(session: Session, played: PlayedCollection, cycle: Cycle, kepala: Principal,
              bidang_id: uuid.UUID, due_at: datetime,
              reason: str) -> Callable[[datetime], None]:
    def grant(at: datetime) -> None:
        played.extensions[bidang_id] = grant_extension(
            session, cycle, principal=kepala, at=at, due_at=due_at, reason=reason,
            bidang_id=bidang_id)
    return grant


def _plan_package(session: Session, store: ObjectStore, played: PlayedCollection, *,
                  later: Callable[[datetime, Callable[[datetime], None]], None],
                  package: Submission, items: Mapping[str, SubmissionItem],
                  bidang_plan: BidangPlan, staff: Principal | None, kasubbag: Principal,
                  titles: Mapping[str, str], first_at: datetime, replace_at: datetime,
                  late_at: datetime, review: Callable[[datetime], datetime]) -> None:
    """Schedule one Bidang's uploads, hand-ins and reviews (see `seed_collection`)."""
    fates = bidang_plan.fates
    bidang_id = package.bidang_id
    year = played.cycle.year
    if staff is None:
        if set(fates.values()) != {Fate.MISSING}:
            raise ValueError(f"Bidang {bidang_id} hands documents in but has no staff member")
        return

    def upload(codes: list[str]) -> Callable[[datetime], None]:
        def run(at: datetime) -> None:
            for code in codes:
                upload_document(session, store, item=items[code], package=package,
                                principal=staff, year=year, title=titles[code], at=at)
        return run

    def submit(at: datetime) -> None:
        submit_package(session, principal=staff, package_id=package.id, at=at)

    def decide(decisions: Mapping[str, Decision], reason: str) -> Callable[[datetime], None]:
        def run(at: datetime) -> None:  # an empty decision does nothing
            for code, decision in decisions.items():
                review_item(session, principal=kasubbag, item_id=items[code].id,
                            decision=decision, at=at,
                            reason=reason if decision is Decision.RETURN else None)
                if decision is Decision.ACCEPT:
                    played.accepted[bidang_id, code] = session.scalars(
                        select(DocumentVersion).where(DocumentVersion.item_id == items[code].id)
                        .order_by(DocumentVersion.number.desc()).limit(1)).one()
                elif fates[code] is Fate.RETURNED:
                    played.returns[bidang_id, code] = reason
        return run

    codes = list(fates)
    if set(fates.values()) == {Fate.MISSING}:
        later(first_at - STEP_TIME, upload(codes[:1]))  # a draft, never handed in
        return
    whole_late = set(fates.values()) == {Fate.LATE}
    hand_in = late_at if whole_late else first_at
    later(hand_in - STEP_TIME, upload(codes))
    later(hand_in, submit)
    if whole_late:
        later(review(hand_in), decide(dict.fromkeys(codes, Decision.ACCEPT), ""))
        return
    later(review(hand_in), decide({c: Decision.ACCEPT for c in codes if fates[c] is Fate.ON_TIME},
                                  ""))
    # The kasubbag_program returns what must be replaced a batch at a time, each once the
    # previous replacements are in: intake takes no hand-in from a package still holding a
    # returned document that was not replaced.
    last = hand_in
    for fate, at in ((Fate.RESUBMITTED, replace_at), (Fate.LATE, late_at)):
        again = [c for c in codes if fates[c] is fate]
        if again:
            later(review(last), decide(dict.fromkeys(again, Decision.RETURN), REPLACE_REASON))
            later(at - STEP_TIME, upload(again))
            later(at, submit)
            later(review(at), decide(dict.fromkeys(again, Decision.ACCEPT), ""))
            last = at
    later(review(last), decide({c: Decision.RETURN for c in codes if fates[c] is Fate.RETURNED},
                               RETURN_REASON))


def late_tolerant_template(session: Session, tenant_id: uuid.UUID) -> SopTemplate:
    """The tenant's own variant of the shipped SOP that takes hand-ins after the deadline (and
    lets the report show them as late) instead of refusing them; published once per tenant."""
    shipped = load_shipped_template(*SEED_TEMPLATE)
    raw = copy.deepcopy(shipped.raw)
    raw["code"] = f"{shipped.code}-{tenant_id.hex[:8]}"
    raw["deadlines"]["refuse_submissions_after_deadline"] = False
    variant = template_from_document(raw, source=f"{raw['code']} v{raw['version']}")
    return publish_template(session, variant, tenant_id=tenant_id)


def seed_collected_cycle(session: Session, store: ObjectStore, *, tenant_id: uuid.UUID,
                         year: int, at: datetime, plan: Mapping[uuid.UUID, BidangPlan],
                         kepala: Principal, tim: Principal, kasubbag: Principal,
                         staff_of: Mapping[uuid.UUID, Principal],
                         template: SopTemplate | None = None) -> PlayedCollection:
    """Open the tenant's cycle at `at` (on `template`, else the tenant's late-tolerant variant
    of the shipped SOP), take it through steps 1-4 at `at` with `plan`'s document list, play
    the collection (`seed_collection`) and close it: step 6 is active at the end."""
    cycle = seed_collecting_cycle(
        session, store, tenant_id=tenant_id, year=year, at=at,
        owed={bidang_id: list(p.fates) for bidang_id, p in plan.items()},
        kepala=kepala, tim=tim, template=template or late_tolerant_template(session, tenant_id))
    return seed_collection(session, store, cycle=cycle, plan=plan, kepala=kepala,
                           kasubbag=kasubbag, staff_of=staff_of, close=True)
