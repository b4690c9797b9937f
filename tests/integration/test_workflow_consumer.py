"""The workflow's consumer of intake's events, for real: the Consumer of the "workflow" group
with the workflow's handlers, reading envelopes XADDed to a Redis stream of the test's own and
writing the per-Bidang collection sub-states (SOP step 5) to PostgreSQL. Each test decides which
events arrive, how often and in which order (ids and times of occurrence are explicit)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

import pytest
import redis
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, sessionmaker

from services.workflow.actions import close_collection
from services.workflow.consumer import GROUP
from services.workflow.cycles import get_cycle, reopen_step
from services.workflow.handlers import HANDLERS
from shared.audit import AuditEntry
from shared.cycles.events import STEP_COMPLETED, STEP_STARTED
from shared.cycles.models import CollectionItem, CollectionPackage, CycleStep
from shared.db import transaction
from shared.events import Consumer, Event
from shared.events.models import InboxEntry, OutboxEvent
from tests.intake_events import PackageEvents, publish
from tests.world import OWED, SEEDED_AT, Dinas, World


def at(minutes: int) -> datetime:
    """A time in the collection, `minutes` after it opened."""
    return SEEDED_AT + timedelta(minutes=minutes)


@pytest.fixture
def stream() -> str:
    return f"test-workflow-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def consumer(redis_client: redis.Redis, session_factory: sessionmaker[Session],
             stream: str) -> Consumer:
    return Consumer(redis_client, session_factory, stream=stream, group=GROUP, name="test-1",
                    handlers=HANDLERS)


class Feed:
    """Put envelopes on the stream and let the consumer read until nothing is left."""

    def __init__(self, client: redis.Redis, stream: str, consumer: Consumer) -> None:
        self.client, self.stream, self.consumer = client, stream, consumer

    def __call__(self, *events: Event) -> None:
        publish(self.client, self.stream, events)
        while self.consumer.run_once(block_ms=0, count=50):
            pass
        assert self.client.xpending(self.stream, GROUP)["pending"] == 0  # every entry acked


@pytest.fixture
def feed(redis_client: redis.Redis, stream: str, consumer: Consumer) -> Feed:
    return Feed(redis_client, stream, consumer)


def package_of(dinas: Dinas, index: int) -> PackageEvents:
    return PackageEvents(tenant_id=dinas.tenant_id, cycle_id=dinas.cycle_id,
                         bidang_id=dinas.bidang[index])


def packages(factory: sessionmaker[Session], dinas: Dinas) -> dict[uuid.UUID, str]:
    with factory() as session:
        return dict(session.execute(select(CollectionPackage.bidang_id, CollectionPackage.state)
                                    .where(CollectionPackage.cycle_id == dinas.cycle_id)).all())


def items(factory: sessionmaker[Session], dinas: Dinas,
          bidang_id: uuid.UUID) -> dict[str, str]:
    with factory() as session:
        return dict(session.execute(select(CollectionItem.document_type, CollectionItem.state)
                                    .where(CollectionItem.cycle_id == dinas.cycle_id,
                                           CollectionItem.bidang_id == bidang_id)).all())


def step_states(factory: sessionmaker[Session], dinas: Dinas) -> dict[int, str]:
    with factory() as session:
        return dict(session.execute(select(CycleStep.number, CycleStep.state)
                                    .where(CycleStep.cycle_id == dinas.cycle_id)).all())


def count(factory: sessionmaker[Session], model: type, *where: ColumnElement[bool]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def accepted_in_full(package: PackageEvents, start: int,
                     codes: Iterable[str] = OWED) -> list[Event]:
    """Submitted, each document accepted, the package accepted: intake's order, a minute apart."""
    codes = list(codes)
    return [package.submitted(at(start), codes),
            *(package.document_accepted(at(start + 1 + n), code) for n, code in enumerate(codes)),
            package.accepted(at(start + 1 + len(codes)))]


# -- idempotency --------------------------------------------------------------------------------

def test_a_duplicated_delivery_is_applied_once(world: World, feed: Feed, session_factory):
    package = package_of(world.a, 0)
    submitted = package.submitted(at(10), OWED)
    feed(submitted, submitted, submitted)
    feed(submitted)  # and once more after it was applied

    assert packages(session_factory, world.a)[package.bidang_id] == "submitted"
    assert count(session_factory, InboxEntry, InboxEntry.event_id == submitted.id) == 1


def test_a_duplicated_last_acceptance_completes_the_collection_once(world: World, feed: Feed,
                                                                    session_factory):
    feed(*accepted_in_full(package_of(world.a, 0), 10))
    last = accepted_in_full(package_of(world.a, 1), 20)
    feed(*last, last[-1], last[-1])
    feed(last[-1])

    assert step_states(session_factory, world.a)[5] == "completed"
    step5 = step_id(session_factory, world.a, 5)
    assert count(session_factory, AuditEntry, AuditEntry.action == "step.completed",
                 AuditEntry.target_id == str(step5)) == 1
    assert count(session_factory, OutboxEvent, OutboxEvent.type == STEP_COMPLETED,
                 OutboxEvent.tenant_id == world.a.tenant_id,
                 OutboxEvent.payload["number"].as_integer() == 5) == 1


# -- order --------------------------------------------------------------------------------------

def test_acceptance_arriving_before_the_submission_is_not_undone_by_it(world: World, feed: Feed,
                                                                       session_factory):
    package = package_of(world.a, 0)
    submitted, *acceptances = accepted_in_full(package, 10)
    feed(*acceptances)
    feed(submitted)  # late

    assert packages(session_factory, world.a)[package.bidang_id] == "accepted"
    assert items(session_factory, world.a, package.bidang_id) == dict.fromkeys(OWED, "accepted")
    with session_factory() as session:
        row = session.scalars(select(CollectionPackage).where(
            CollectionPackage.cycle_id == world.a.cycle_id,
            CollectionPackage.bidang_id == package.bidang_id)).one()
        assert (row.state_at, row.accepted_at) == (at(13), at(13))
        assert row.first_submitted_at == at(10)  # the late hand-in still dates the first one


def test_an_old_submission_arriving_after_the_acceptance_never_moves_it_back(
        world: World, feed: Feed, session_factory):
    package = package_of(world.a, 0)
    first = package.submitted(at(10), OWED)
    returned = package.returned(at(11), "IKU")
    accepted_renja = package.document_accepted(at(12), "RENJA")
    again = package.submitted(at(20), ["IKU"])
    accepted_iku = package.document_accepted(at(21), "IKU")
    accepted = package.accepted(at(22))
    feed(again, accepted_iku, accepted)
    feed(returned, accepted_renja, first)  # the older events, late and out of order

    assert packages(session_factory, world.a)[package.bidang_id] == "accepted"
    assert items(session_factory, world.a, package.bidang_id) == {"IKU": "accepted",
                                                                  "RENJA": "accepted"}


def test_a_returned_document_marks_the_package_until_a_newer_submission(world: World, feed: Feed,
                                                                        session_factory):
    package = package_of(world.a, 0)
    feed(package.submitted(at(10), OWED), package.returned(at(11), "RENJA"))
    assert packages(session_factory, world.a)[package.bidang_id] == "returned"
    assert items(session_factory, world.a, package.bidang_id)["RENJA"] == "returned"

    feed(package.submitted(at(30), ["RENJA"]))
    assert packages(session_factory, world.a)[package.bidang_id] == "submitted"
    assert items(session_factory, world.a, package.bidang_id)["RENJA"] == "submitted"


def test_a_withdrawal_counts_only_when_it_is_newer(world: World, feed: Feed, session_factory):
    package = package_of(world.a, 0)
    feed(package.submitted(at(10), OWED), package.withdrawn(at(11)))
    assert packages(session_factory, world.a)[package.bidang_id] == "not_submitted"
    assert items(session_factory, world.a, package.bidang_id) == dict.fromkeys(OWED, "withdrawn")

    feed(package.submitted(at(30), OWED))
    stale = package.withdrawn(at(20))  # withdrew the earlier submission, arrives late
    feed(stale)
    assert packages(session_factory, world.a)[package.bidang_id] == "submitted"
    assert items(session_factory, world.a, package.bidang_id) == dict.fromkeys(OWED, "submitted")


def test_a_withdrawal_arriving_before_its_submission_still_wins(world: World, feed: Feed,
                                                                session_factory):
    package = package_of(world.a, 0)
    submitted, withdrawn = package.submitted(at(10), OWED), package.withdrawn(at(11))
    feed(withdrawn)
    feed(submitted)

    assert packages(session_factory, world.a)[package.bidang_id] == "not_submitted"
    assert items(session_factory, world.a, package.bidang_id) == dict.fromkeys(OWED, "withdrawn")


# -- the collection completing by itself ---------------------------------------------------------

def step_id(factory: sessionmaker[Session], dinas: Dinas, number: int) -> uuid.UUID:
    with factory() as session:
        return session.scalars(select(CycleStep.id).where(
            CycleStep.cycle_id == dinas.cycle_id, CycleStep.number == number)).one()


def test_every_bidang_accepted_completes_the_collection_as_the_system(world: World, feed: Feed,
                                                                      session_factory):
    feed(*accepted_in_full(package_of(world.a, 0), 10))
    assert step_states(session_factory, world.a)[5] == "active"  # Bidang 2 still owes

    feed(*accepted_in_full(package_of(world.a, 1), 20))
    assert step_states(session_factory, world.a) == {1: "completed", 2: "completed",
                                                     3: "completed", 4: "completed",
                                                     5: "completed", 6: "active"}
    with session_factory() as session:
        step5 = session.get_one(CycleStep, step_id(session_factory, world.a, 5))
        assert step5.completed_by is None
        assert step5.completed_at == at(23)
        audit = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "step.completed", AuditEntry.target_id == str(step5.id))).one()
        assert (audit.actor, audit.actor_user_id) == ("system:workflow", None)
        assert audit.after == {"state": "completed", "number": 5, "on_time": True}
        completed = session.scalars(select(OutboxEvent).where(
            OutboxEvent.type == STEP_COMPLETED, OutboxEvent.tenant_id == world.a.tenant_id)
            .order_by(OutboxEvent.seq.desc())).first()
        assert completed is not None
        assert (completed.payload["number"], completed.payload["completed_by"]) == (5, None)
        started = session.scalars(select(OutboxEvent).where(
            OutboxEvent.type == STEP_STARTED, OutboxEvent.tenant_id == world.a.tenant_id)
            .order_by(OutboxEvent.seq.desc())).first()
        assert started is not None
        assert started.payload["number"] == 6
    assert step_states(session_factory, world.b)[5] == "active"  # the other dinas untouched


def test_the_package_accepted_before_its_last_document_still_completes_the_collection(
        world: World, feed: Feed, session_factory):
    feed(*accepted_in_full(package_of(world.a, 0), 10))
    submitted, accept_iku, accept_renja, accepted = accepted_in_full(package_of(world.a, 1), 20)
    feed(submitted, accept_iku, accepted)  # the package's acceptance overtakes RENJA's
    assert step_states(session_factory, world.a)[5] == "active"

    feed(accept_renja)
    states = step_states(session_factory, world.a)
    assert (states[5], states[6]) == ("completed", "active")
    with session_factory() as session:  # when the last package was accepted
        assert session.get_one(CycleStep, step_id(session_factory, world.a, 5)).completed_at \
            == at(23)


def test_the_collection_completes_at_the_newest_acceptance_whichever_arrives_last(
        world: World, feed: Feed, session_factory):
    feed(*accepted_in_full(package_of(world.a, 1), 20))
    feed(*accepted_in_full(package_of(world.a, 0), 10))  # the older acceptance, late

    with session_factory() as session:
        step5 = session.get_one(CycleStep, step_id(session_factory, world.a, 5))
        assert (step5.state, step5.completed_at) == ("completed", at(23))


def test_the_collection_does_not_complete_while_a_document_is_still_owed(world: World,
                                                                         feed: Feed,
                                                                         session_factory):
    feed(*accepted_in_full(package_of(world.a, 0), 10))
    feed(*accepted_in_full(package_of(world.a, 1), 20, codes=["IKU"]))  # RENJA never came

    assert packages(session_factory, world.a)[world.a.bidang[1]] == "accepted"
    assert step_states(session_factory, world.a)[5] == "active"


def test_a_late_acceptance_completes_a_reopened_collection_not_before_it_restarted(
        world: World, feed: Feed, session_factory):
    feed(*accepted_in_full(package_of(world.a, 0), 10))
    late = accepted_in_full(package_of(world.a, 1), 20)  # accepted at 20-23, delivered late
    with transaction(session_factory) as session:
        cycle = get_cycle(session, world.a.cycle_id)
        close_collection(session, cycle, principal=world.a.principals["kasubbag"], at=at(30),
                         reason="Batas waktu lewat.")
        reopen_step(session, cycle, 5, at=at(40), principal=world.a.principals["kepala"],
                    reason="Bidang 2 sudah menyerahkan.")
    feed(*late)

    with session_factory() as session:
        step5 = session.get_one(CycleStep, step_id(session_factory, world.a, 5))
        assert (step5.state, step5.started_at, step5.completed_at) == ("completed", at(40),
                                                                       at(40))
    assert step_states(session_factory, world.a)[6] == "active"


# -- what the consumer leaves alone --------------------------------------------------------------

def test_events_claiming_another_tenant_change_nothing(world: World, feed: Feed,
                                                       session_factory):
    forged = PackageEvents(tenant_id=world.b.tenant_id, cycle_id=world.a.cycle_id,
                           bidang_id=world.a.bidang[0])
    before = (packages(session_factory, world.a), step_states(session_factory, world.a))
    feed(*accepted_in_full(forged, 10))
    feed(*accepted_in_full(PackageEvents(tenant_id=world.b.tenant_id, cycle_id=world.a.cycle_id,
                                         bidang_id=world.a.bidang[1]), 20))

    assert (packages(session_factory, world.a), step_states(session_factory, world.a)) == before
    assert items(session_factory, world.a, world.a.bidang[0]) == {}
    assert packages(session_factory, world.b) == dict.fromkeys(world.b.bidang, "not_submitted")


def test_events_of_other_types_are_acknowledged_and_ignored(world: World, feed: Feed,
                                                            redis_client, stream,
                                                            session_factory):
    unknown = Event(id=uuid.uuid4(), type="something.else", tenant_id=world.a.tenant_id,
                    occurred_at=at(6), schema_version=1, payload={"x": 1})
    before = packages(session_factory, world.a)
    feed(unknown)

    assert packages(session_factory, world.a) == before
    assert count(session_factory, InboxEntry) == 0
    assert redis_client.xpending(stream, GROUP)["pending"] == 0
    assert redis_client.xlen(f"{stream}:dead") == 0

