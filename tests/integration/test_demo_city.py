"""The scripted city's checker (`sakip.city.check`): it agrees with a city played as planned and
finds each fault planted in it, naming the dinas, Bidang and document.

The fast tests check its parts against the test worlds (a collection played through the real
functions, the world's stored objects, a stream of the test's own); the slow one runs a small
city through the services' HTTP APIs (`sakip.city.run.run_city`), then tampers with it."""

from __future__ import annotations

import dataclasses
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from sakip.city.check import check_city, check_collection, check_events, check_objects
from sakip.city.plan import CityBidang, CityPlan, DinasPlan, DocumentPlan, plan_city
from sakip.localinfra import wait_until
from sakip.seeding import Fate
from shared.clock import now
from shared.config import Settings
from shared.cycles.collection import collection_step
from shared.cycles.models import (
    AlertStage,
    CollectionItem,
    CollectionPackage,
    Cycle,
    CycleStep,
)
from shared.db import make_engine, make_session_factory, transaction
from shared.documents.models import CycleDocument, DocumentVersion, Submission, SubmissionItem
from shared.events import Event, to_stream_fields
from shared.events.connection import make_redis_client
from shared.events.dead_letters import dead_letter_stream
from shared.events.models import OutboxEvent
from shared.identity.models import Bidang, Tenant, User
from shared.reporting.models import ReportReceipt
from shared.storage import ObjectStore
from tests.reporting_world import ReportingWorld


def planned(name: str, fates: dict[str, Fate], extension: str | None = None) -> CityBidang:
    return CityBidang(name=name, staff_username=f"dinas-a.{name.lower().replace(' ', '-')}",
                      documents=tuple(DocumentPlan(code, fate, "pdf", 1024)
                                      for code, fate in fates.items()),
                      extension_reason=extension)


def dinas_a_plan(rw: ReportingWorld) -> DinasPlan:
    """dinas-a of the reporting world as a city plan would say it (tests/reporting_world.py)."""
    return DinasPlan(slug="dinas-a", name="Dinas A", late_steps=frozenset(),
                     report_returned_first=False, bidang=(
        planned("Bidang 1", {"IKU": Fate.ON_TIME, "RENJA": Fate.LATE, "PK": Fate.RETURNED,
                             "LKJIP": Fate.RESUBMITTED}),
        planned("Bidang 2", {"IKU": Fate.ON_TIME, "RENJA": Fate.ON_TIME, "PK": Fate.ON_TIME},
                extension=rw.extension_reason),
        planned("Bidang 3", {"IKU": Fate.MISSING, "RENJA": Fate.MISSING})))


def collection_problems(factory: sessionmaker[Session], rw: ReportingWorld,
                        plan: DinasPlan) -> list[str]:
    with factory() as session:
        cycle = session.get_one(Cycle, rw.cycle_id)
        return check_collection(session, plan, cycle, rw.bidang,
                                collection_step(session, cycle.id))


# -- the collection -------------------------------------------------------------------------------

def test_a_collection_played_as_planned_has_no_inconsistency(reporting_world: ReportingWorld,
                                                             session_factory):
    assert collection_problems(session_factory, reporting_world,
                               dinas_a_plan(reporting_world)) == []


def test_a_flipped_package_and_item_are_named(reporting_world: ReportingWorld, session_factory):
    rw = reporting_world
    with transaction(session_factory) as session:
        session.execute(update(CollectionPackage).where(
            CollectionPackage.cycle_id == rw.cycle_id,
            CollectionPackage.bidang_id == rw.bidang["Bidang 2"]).values(state="returned"))
        session.execute(update(CollectionItem).where(
            CollectionItem.cycle_id == rw.cycle_id,
            CollectionItem.bidang_id == rw.bidang["Bidang 2"],
            CollectionItem.document_type == "PK").values(state="submitted"))

    assert collection_problems(session_factory, rw, dinas_a_plan(rw)) == [
        "dinas-a / Bidang 2: the workflow has the package returned, expected accepted",
        "dinas-a / Bidang 2 / PK: on_time but the workflow has it submitted",
    ]


def test_a_plan_that_differs_from_the_platform_is_reported(reporting_world: ReportingWorld,
                                                           session_factory):
    rw = reporting_world
    plan = dinas_a_plan(rw)
    bidang_2 = plan.bidang[1]
    differing = dataclasses.replace(plan, bidang=(plan.bidang[0], dataclasses.replace(
        bidang_2, extension_reason="Alasan lain.",
        documents=(*bidang_2.documents[:2], DocumentPlan("PK", Fate.RESUBMITTED, "pdf", 1))),
        plan.bidang[2]))

    assert collection_problems(session_factory, rw, differing) == [
        "dinas-a / Bidang 2 / PK: resubmitted with 1 stored version(s)",
        "dinas-a / Bidang 2 / PK: resubmitted with 0 return(s) recorded, expected 1",
        "dinas-a / Bidang 2: no extension with the planned reason (1 extension(s))",
    ]


# -- objects --------------------------------------------------------------------------------------

def test_objects_read_back_and_orphans(world, session_factory, settings: Settings,
                                       object_store: ObjectStore):
    tenants = {"dinas-a": world.a.tenant_id, "dinas-b": world.b.tenant_id}
    with session_factory() as session:
        assert check_objects(session, settings, tenants) == []
        sk = session.scalars(select(CycleDocument).where(
            CycleDocument.tenant_id == world.a.tenant_id,
            CycleDocument.kind == "SK_TIM_EVALUASI")).one()
    orphan = f"tenants/{world.b.tenant_id}/cycles/{world.b.cycle_id}/document/{uuid.uuid4().hex}"
    object_store.put_stream(orphan, io.BytesIO(b"nobody's"), content_type="application/pdf")
    object_store.delete(sk.object_key)
    object_store.put_stream(sk.object_key, io.BytesIO(b"other bytes"),
                            content_type="application/pdf")

    with session_factory() as session:
        problems = check_objects(session, settings, tenants)
    assert len(problems) == 2
    assert problems[0].startswith("dinas-a / cycle document SK_TIM_EVALUASI: object holds 11 "
                                  "bytes (SHA-256 ")
    assert f"the row records {sk.size_bytes} bytes" in problems[0]
    assert problems[1] == f"dinas-b: object {orphan} is referenced by no row"

    object_store.delete(sk.object_key)
    with session_factory() as session:
        problems = check_objects(session, settings, tenants)
    assert problems[0].startswith(f"dinas-a / cycle document SK_TIM_EVALUASI: object "
                                  f"{sk.object_key} cannot be read")


# -- events ---------------------------------------------------------------------------------------

@pytest.fixture
def own_stream(settings: Settings, redis_client: redis.Redis) -> Iterator[Settings]:
    stream = f"test-city-{uuid.uuid4().hex[:10]}"
    yield dataclasses.replace(settings, events_stream=stream)
    redis_client.delete(stream, dead_letter_stream(stream))


def test_events_unsent_unread_pending_and_dead_are_each_named(
        world, session_factory, own_stream: Settings, redis_client: redis.Redis):
    stream = own_stream.events_stream
    with session_factory() as session:
        unsent = len(session.scalars(select(OutboxEvent).where(
            OutboxEvent.sent_at.is_(None))).all())
        assert unsent > 0  # the world's own events, never relayed
        assert check_events(session, own_stream) == [f"events: {unsent} outbox row(s) never sent"]
    with transaction(session_factory) as session:
        session.execute(update(OutboxEvent).values(sent_at=OutboxEvent.created_at))
        session.add(OutboxEvent(event_id=uuid.uuid4(), type="document.uploaded",
                                schema_version=1, tenant_id=world.a.tenant_id,
                                occurred_at=now(), payload={}, sent_at=now()))
    redis_client.xgroup_create(stream, "workflow", id="0", mkstream=True)
    redis_client.xadd(stream, {"id": "read-never-acked"})
    redis_client.xreadgroup("workflow", "c1", {stream: ">"}, count=1)
    redis_client.xadd(stream, {"id": "never-read"})
    redis_client.xadd(dead_letter_stream(stream), {
        "id": "e-1", "type": "submission.submitted", "dead_group": "workflow",
        "dead_reason": "handler failed", "dead_deliveries": "6"})

    with session_factory() as session:
        assert check_events(session, own_stream) == [
            "events: 1 document.uploaded event(s) never applied by the workflow",
            "events: group workflow has 1 entries pending",
            "events: group workflow has 1 entries never read",
            "events: dead letter submission.submitted e-1 of group workflow: handler failed",
        ]



# -- a small city, played through the services, then tampered with ------------------------------

TAMPER_GROUP = "city-tamper"


@dataclass
class Tampered:
    before: list[str] = field(default_factory=list)  # check_city of the city as played
    after: list[str] = field(default_factory=list)  # and after the faults below
    expected: list[str] = field(default_factory=list)  # the faults, as the checker names them
    deleted_object: str = ""


def plant_faults(plan: CityPlan, settings: Settings, tampered: Tampered) -> None:
    """While the city's stack still runs: flip one package, mark a step done in time overdue,
    drop one receipt, leave a stream entry unacked, delete one version's object, add a dead
    letter."""
    dinas = plan.dinas[0]
    bidang = next(b for b in dinas.bidang if all(d.fate is Fate.ON_TIME for d in b.documents))
    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            tenant_id = session.scalars(select(Tenant.id).where(Tenant.slug == dinas.slug)).one()
            bidang_id = session.scalars(select(Bidang.id).where(
                Bidang.tenant_id == tenant_id, Bidang.name == bidang.name)).one()
            session.execute(update(CollectionPackage).where(
                CollectionPackage.bidang_id == bidang_id).values(state="submitted"))
            code = bidang.documents[0].document_type
            version = session.scalars(
                select(DocumentVersion).join(SubmissionItem).join(Submission)
                .where(Submission.bidang_id == bidang_id,
                       SubmissionItem.document_type == code)).one()
        other = plan.dinas[1]
        with transaction(make_session_factory(engine)) as session:
            other_id = session.scalars(select(Tenant.id).where(Tenant.slug == other.slug)).one()
            step = session.scalars(select(CycleStep).where(
                CycleStep.tenant_id == other_id, CycleStep.completed_at <= CycleStep.due_at)
                .order_by(CycleStep.number).limit(1)).one()
            step.alert_stage = AlertStage.OVERDUE
            inspektur = session.scalars(select(User.id).where(
                User.username == plan.inspektur)).one()
            session.execute(delete(ReportReceipt).where(ReportReceipt.tenant_id == other_id,
                                                        ReportReceipt.user_id == inspektur))
    finally:
        engine.dispose()
    ObjectStore.from_settings(settings).delete(version.object_key)
    tampered.deleted_object = (f"{dinas.slug} / {bidang.name} / {code} version 1: object "
                               f"{version.object_key} cannot be read")
    client = make_redis_client(settings.redis_url)
    try:
        stream = settings.events_stream
        client.xgroup_create(stream, TAMPER_GROUP, id="$")
        client.xadd(stream, to_stream_fields(Event(  # type: ignore[arg-type]
            id=uuid.uuid4(), type="city.tampered", tenant_id=None, occurred_at=now(),
            schema_version=1, payload={})))
        client.xreadgroup(TAMPER_GROUP, "tamperer", {stream: ">"}, count=1)  # never acked
        client.xadd(dead_letter_stream(stream), {
            "id": "planted-1", "type": "submission.submitted", "dead_group": "workflow",
            "dead_reason": "planted by the test", "dead_deliveries": "6"})
    finally:
        client.close()
    tampered.expected = [
        f"{dinas.slug} / {bidang.name}: the workflow has the package submitted, expected accepted",
        f"{other.slug}: step {step.number} done in time has an overdue alert",
        f"{other.slug}: the approved report was not acknowledged by {plan.inspektur}",
        f"events: group {TAMPER_GROUP} has 1 entries pending",
        "events: dead letter submission.submitted planted-1 of group workflow: planted by the "
        "test",
    ]


@pytest.mark.slow
def test_a_small_city_checks_clean_and_each_planted_fault_is_found(
        tmp_path, pg_url: str):
    from sakip.city import run as city_run

    plan = plan_city(dinas=2, bidang_per_dinas=(6, 6), max_file_bytes=200 * 1024)
    tampered = Tampered()

    def check_then_tamper(plan: CityPlan, settings: Settings) -> list[str]:
        tampered.before = check_city(plan, settings)
        plant_faults(plan, settings, tampered)
        # The live workflow consumer reads (and ignores) the planted stream entry too.
        wait_until(lambda: others_caught_up(settings), 60, "the stack's consumers caught up")
        tampered.after = check_city(plan, settings)
        return tampered.before

    outcome = city_run.run_city(plan, database_url=pg_url, state_dir=tmp_path / "city",
                                out=io.StringIO(), check=check_then_tamper)

    assert outcome.error is None
    assert tampered.before == []
    assert outcome.ok
    after = list(tampered.after)
    deleted = [p for p in after if p.startswith(tampered.deleted_object)]
    assert len(deleted) == 1, after
    after.remove(deleted[0])
    assert sorted(after) == sorted(tampered.expected)


def others_caught_up(settings: Settings) -> bool:
    """Every consumer group but the planted one has read and acknowledged everything."""
    client = make_redis_client(settings.redis_url)
    try:
        groups: Any = client.xinfo_groups(settings.events_stream)
        return all(g["pending"] == 0 and g.get("lag") == 0 for g in groups
                   if g["name"] not in (TAMPER_GROUP, TAMPER_GROUP.encode()))
    finally:
        client.close()
