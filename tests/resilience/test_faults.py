"""Faults survived: each test stops or kills a real server or process it started itself (never
the machine's shared PostgreSQL or Redis) and checks that nothing was lost or left behind.

Checked elsewhere and only referenced here: the reporting worker SIGKILLed mid-build
(tests/integration/test_report_worker.py) and two schedulers racing
(tests/integration/test_scheduler.py); the relay and consumer loops riding out a Redis outage
below HTTP (tests/integration/test_events.py).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import ColumnElement, Connection, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from sakip.localinfra import RedisServer, SeaweedS3
from sakip.seeding import DEMO_DOCUMENTS, BidangPlan, Fate, role_holder, seed_collection
from services.intake.app import create_app as create_intake_app
from services.intake.clock import use_clock
from services.intake.sweeper import sweep_orphans
from services.reporting.reports import request_cycle_report
from services.workflow.consumer import GROUP
from services.workflow.handlers import HANDLERS
from shared.clock import now
from shared.config import Settings
from shared.cycles.models import AlertStage, CollectionItem, CollectionPackage, Cycle, CycleStep
from shared.db import make_engine, make_session_factory, transaction
from shared.documents.models import DocumentVersion, Submission
from shared.events import Consumer, from_stream_fields, make_redis_client
from shared.events.models import InboxEntry, OutboxEvent
from shared.events.relay import relay_once
from shared.identity.loading import principal_for
from shared.identity.models import User
from shared.identity.roles import Role
from shared.reporting.models import Report
from shared.storage import ObjectStore
from tests.conftest import S3_ACCESS_KEY, S3_SECRET_KEY
from tests.intake_events import PackageEvents, publish
from tests.integration.test_api import API, Api, item_ids, upload_form
from tests.resilience.faults import (
    PlugPullingStream,
    connection_cut_on_insert,
    local_stack,
    wait_for,
)
from tests.samples import document_keys, padded_pdf
from tests.world import COLLECTING_AT, SEEDED_AT, World

pytestmark = [pytest.mark.slow, pytest.mark.resilience]
STAFF = "dinas-a.staf1"


def intake_app(settings: Settings) -> Flask:
    application = create_intake_app(settings)
    use_clock(application, lambda: COLLECTING_AT)
    return application


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "own-redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_s3(tmp_path: Path) -> Iterator[SeaweedS3]:
    server = SeaweedS3(tmp_path / "own-s3", S3_ACCESS_KEY, S3_SECRET_KEY)
    server.start(timeout=60)
    yield server
    server.stop(timeout=5)


def drain(consumer: Consumer, rounds: int = 6) -> None:
    for _ in range(rounds):
        consumer.run_once(block_ms=0, count=50)


def relay_all(factory: sessionmaker[Session], client: redis.Redis, stream: str) -> None:
    while relay_once(factory, client, stream=stream):
        pass


def unsent_intake_events(factory: sessionmaker[Session], tenant_id: uuid.UUID) -> dict[
        uuid.UUID, str]:
    with factory() as session:
        rows = session.execute(select(OutboxEvent.event_id, OutboxEvent.type).where(
            OutboxEvent.tenant_id == tenant_id, OutboxEvent.sent_at.is_(None),
            OutboxEvent.type.like("document.%") | OutboxEvent.type.like("submission.%"))).all()
    return {row.event_id: row.type for row in rows}


def inbox_ids(factory: sessionmaker[Session]) -> list[uuid.UUID]:
    with factory() as session:
        return list(session.scalars(select(InboxEntry.event_id)
                                    .where(InboxEntry.consumer == GROUP)))


def package_state(factory: sessionmaker[Session], cycle_id: uuid.UUID,
                  bidang_id: uuid.UUID) -> str | None:
    with factory() as session:
        return session.scalar(select(CollectionPackage.state).where(
            CollectionPackage.cycle_id == cycle_id, CollectionPackage.bidang_id == bidang_id))


def count(factory: sessionmaker[Session], model: type, *where: ColumnElement[bool]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


# -- Redis stopped while staff upload -------------------------------------------------------------

@pytest.mark.evidence(
    area="fault",
    tried="Redis stopped while staff uploaded two documents and handed in their package "
          "through the API; the relay then republished every event a second time.",
    held="Uploads and hand-in succeeded while Redis was down, the outbox held their events, "
         "and after the restart every event reached the workflow once in effect.")
def test_uploads_succeed_while_redis_is_down_and_their_events_arrive_once(
        world: World, settings: Settings, session_factory, object_store, own_redis):
    application = intake_app(dataclasses.replace(settings, redis_url=own_redis.url))
    client = make_redis_client(own_redis.url, retries=0)
    try:
        api = Api(application.test_client(), session_factory)
        api.headers(STAFF)  # the token is made before the outage (it needs no Redis anyway)
        package = api.package(world.a.cycle_id, world.a.bidang[0], as_=STAFF)
        own_redis.stop()

        for seed, item_id in enumerate(item_ids(package).values()):
            response = api.upload(item_id, padded_pdf(20_000, seed=seed), as_=STAFF)
            assert response.status_code == 201, response.get_json()
        response = api.post(f"/packages/{package['id']}/submit", as_=STAFF)
        assert response.status_code == 200, response.get_json()
        held = unsent_intake_events(session_factory, world.a.tenant_id)
        assert sorted(held.values()) == ["document.uploaded", "document.uploaded",
                                         "submission.submitted"]
        with pytest.raises(redis.ConnectionError):
            relay_once(session_factory, client, stream=settings.events_stream)

        own_redis.start()  # same port, no persistence: an empty stream and no group
        consumer = Consumer(client, session_factory, stream=settings.events_stream,
                            group=GROUP, name="after-restart", handlers=HANDLERS)
        relay_all(session_factory, client, settings.events_stream)
        drain(consumer)
        # A second publication of everything (a relay whose commit was lost) changes nothing.
        with transaction(session_factory) as session:
            session.execute(update(OutboxEvent).values(sent_at=None))
        relay_all(session_factory, client, settings.events_stream)
        drain(consumer)

        entries: Any = client.xrange(settings.events_stream)
        streamed = [from_stream_fields(fields).id for _id, fields in entries]
        assert all(streamed.count(event_id) == 2 for event_id in held)
        assert int(client.xpending(settings.events_stream, GROUP)["pending"]) == 0
    finally:
        client.close()
        application.extensions["sakip"].close()

    [submitted] = [event_id for event_id, type_ in held.items()
                   if type_ == "submission.submitted"]
    assert inbox_ids(session_factory).count(submitted) == 1
    assert package_state(session_factory, world.a.cycle_id, world.a.bidang[0]) == "submitted"
    with session_factory() as session:
        states = session.scalars(select(CollectionItem.state).where(
            CollectionItem.cycle_id == world.a.cycle_id,
            CollectionItem.bidang_id == world.a.bidang[0])).all()
    assert sorted(states) == ["submitted", "submitted"]


# -- S3 stopped mid-upload ------------------------------------------------------------------------

@pytest.mark.evidence(
    area="fault",
    tried="The S3 server was killed while a 12 MB upload was streaming to it through the API, "
          "then started again.",
    held="The staff member got a 503 with an Indonesian message; no version row, event or "
         "object remained; after the restart the same upload succeeded.")
def test_s3_killed_mid_upload_is_503_and_the_same_upload_succeeds_after_restart(
        world: World, settings: Settings, session_factory, own_s3: SeaweedS3):
    own_settings = dataclasses.replace(settings, s3_endpoint=own_s3.endpoint)
    store = ObjectStore.from_settings(own_settings)
    store.ensure_bucket()
    application = intake_app(own_settings)
    try:
        api = Api(application.test_client(), session_factory)
        package = api.package(world.a.cycle_id, world.a.bidang[0], as_=STAFF)
        item_id = item_ids(package)["IKU"]
        form = upload_form(padded_pdf(12 * 1024 * 1024))
        body: bytes = form["data"]  # type: ignore[assignment]
        events_before = count(session_factory, OutboxEvent)

        def kill_s3_once_parts_are_stored() -> None:
            time.sleep(1.0)  # the storing thread creates the multipart upload, sends part 1
            own_s3.kill()

        stream = PlugPullingStream(body, after=7 * 1024 * 1024,
                                   pull=kill_s3_once_parts_are_stored)
        response = api.client.post(
            f"{API}/items/{item_id}/versions", headers=api.headers(STAFF), input_stream=stream,
            content_type=form["content_type"], content_length=len(body))
        assert response.status_code == 503, response.get_json()
        assert "Penyimpanan berkas" in response.get_json()["error"]["message"]
        assert count(session_factory, DocumentVersion) == 0
        assert count(session_factory, OutboxEvent) == events_before

        own_s3.start(timeout=60)  # same ports, same data directory
        assert document_keys(store, world.a.tenant_id) == []
        response = api.client.post(f"{API}/items/{item_id}/versions",
                                   headers=api.headers(STAFF), data=body,
                                   content_type=form["content_type"])
        assert response.status_code == 201, response.get_json()
        assert len(document_keys(store, world.a.tenant_id)) == 1
        assert count(session_factory, DocumentVersion) == 1
    finally:
        application.extensions["sakip"].close()


# -- PostgreSQL connection lost mid-request -------------------------------------------------------

@pytest.mark.evidence(
    area="fault",
    tried="The PostgreSQL connection of an upload request was terminated inside its "
          "transaction, after the file was already in object storage.",
    held="The staff member got a 503 with an Indonesian message; no row, event or orphan "
         "object remained (the sweeper found nothing); the next upload succeeded.")
def test_database_connection_lost_mid_upload_is_503_and_leaves_no_orphan(
        world: World, app: Flask, session_factory, pg_engine, object_store):
    api = Api(app.test_client(), session_factory)
    package = api.package(world.a.cycle_id, world.a.bidang[0], as_=STAFF)
    item_id = item_ids(package)["IKU"]
    events_before = count(session_factory, OutboxEvent)
    data = padded_pdf(200_000)

    with connection_cut_on_insert(pg_engine, "document_versions"):
        response = api.upload(item_id, data, as_=STAFF)
    assert response.status_code == 503, response.get_json()
    assert "Basis data" in response.get_json()["error"]["message"]
    assert count(session_factory, DocumentVersion) == 0
    assert count(session_factory, OutboxEvent) == events_before
    assert document_keys(object_store, world.a.tenant_id) == []
    assert sweep_orphans(object_store, session_factory, grace=timedelta(0),
                         at=now() + timedelta(seconds=5),
                         prefix=f"tenants/{world.a.tenant_id}/") == []

    response = api.upload(item_id, data, as_=STAFF)  # the pool replaced the dead connection
    assert response.status_code == 201, response.get_json()
    assert len(document_keys(object_store, world.a.tenant_id)) == 1


# -- the workflow consumer killed mid-batch -------------------------------------------------------

@pytest.mark.evidence(
    area="fault",
    tried="The workflow consumer process was SIGKILLed while applying a batch of ten intake "
          "events (held inside its first transaction), then a consumer started again.",
    held="The restarted consumer reclaimed the pending entries and applied each event once: "
         "both packages accepted and the collection completed once.")
def test_workflow_consumer_killed_mid_batch_reclaims_and_applies_once(
        world: World, settings: Settings, session_factory, pg_engine, pg_url, redis_server,
        redis_client):
    stream = settings.events_stream
    events = []
    for index, bidang_id in enumerate(world.a.bidang):
        package = PackageEvents(world.a.tenant_id, world.a.cycle_id, bidang_id)
        start = SEEDED_AT + timedelta(days=1, minutes=10 * index)
        events += [package.submitted(start, ("IKU", "RENJA")),
                   package.document_accepted(start + timedelta(minutes=1), "IKU"),
                   package.document_accepted(start + timedelta(minutes=2), "RENJA"),
                   package.accepted(start + timedelta(minutes=3))]
    publish(redis_client, stream, events)

    env = {**os.environ, "SAKIP_ENV": "test", "DATABASE_URL": pg_url,
           "REDIS_URL": redis_server.url, "EVENTS_STREAM": stream, "LOG_JSON": "false",
           "METRICS_PORT": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with pg_engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE collection_packages IN ACCESS EXCLUSIVE MODE"))
        process = subprocess.Popen([sys.executable, "-m", "services.workflow.consumer"],
                                   env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            # Mid-batch: every entry read (pending), the first one's transaction waiting.
            wait_for(lambda: _pending(redis_client, stream) == len(events)
                     and _waiting_on_locks(blocker) > 0, timeout=20, what="consumer mid-batch")
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        blocker.rollback()
    assert inbox_ids(session_factory) == []  # nothing of the batch was committed

    restarted = Consumer(redis_client, session_factory, stream=stream, group=GROUP,
                         name="restarted", handlers=HANDLERS, claim_idle_ms=100)
    wait_for(lambda: (restarted.run_once(block_ms=0, count=50) or True)
             and _pending(redis_client, stream) == 0, timeout=20, what="entries reclaimed")

    applied = inbox_ids(session_factory)
    assert sorted(applied) == sorted(event.id for event in events)
    for bidang_id in world.a.bidang:
        assert package_state(session_factory, world.a.cycle_id, bidang_id) == "accepted"
    with session_factory() as session:
        collection = session.scalars(select(CycleStep).where(
            CycleStep.cycle_id == world.a.cycle_id, CycleStep.number == 5)).one()
        assert collection.state == "completed"


def _pending(client: redis.Redis, stream: str) -> int:
    try:
        return int(client.xpending(stream, GROUP)["pending"])
    except redis.ResponseError:  # the group is not there yet
        return 0


def _waiting_on_locks(conn: Connection) -> int:
    return conn.scalar(text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'")) or 0


# -- restart of the whole local stack -------------------------------------------------------------

@pytest.mark.evidence(
    area="fault",
    tried="The whole local stack (`sakip up`) ran a collection and a report build, was stopped "
          "with Ctrl-C, an active step's deadline passed while it was down, and it was started "
          "again on the same state directory.",
    held="Cycles, steps and their deadlines, packages with their files, and the built report "
         "with its PDF and XLSX were all still there, and the restarted scheduler escalated "
         "the missed deadline.")
def test_whole_local_stack_restarts_with_its_records_and_deadlines_still_fire(tmp_path: Path):
    state_dir = tmp_path / "state"
    with local_stack(state_dir) as first:
        engine = make_engine(first.settings.effective_database_url)
        factory = make_session_factory(engine)
        try:
            report_id = _collect_and_request_report(factory, first.settings)
            wait_for(lambda: _report_state(factory, report_id) in ("ready", "failed"),
                     timeout=60, what="the stack's worker builds the report")
            assert _report_state(factory, report_id) == "ready"
        finally:
            engine.dispose()

    engine = make_engine(first.settings.effective_database_url)
    factory = make_session_factory(engine)
    try:
        step_id = _deadline_passes_while_down(factory)
        before = _records(factory)
        with local_stack(state_dir) as second:
            wait_for(lambda: _alert_stage(factory, step_id) >= AlertStage.OVERDUE,
                     timeout=30, what="the restarted scheduler escalates the missed deadline")
            assert _records(factory) == before
            store = ObjectStore.from_settings(second.settings)
            for key, sha256 in before["objects"]:
                assert store.sha256_of(key) == sha256, key
    finally:
        engine.dispose()


def _collect_and_request_report(factory: sessionmaker[Session], settings: Settings) -> uuid.UUID:
    """Play the demo cycle's collection (every document uploaded, handed in, accepted) and ask
    the stack's worker for its report."""
    store = ObjectStore.from_settings(settings)
    with transaction(factory) as session:
        cycle = session.scalars(select(Cycle)).one()
        staff = session.scalars(select(User).where(User.tenant_id == cycle.tenant_id,
                                                   User.bidang_id.is_not(None))).all()
        seed_collection(
            session, store, cycle=cycle,
            plan={user.bidang_id: BidangPlan(dict.fromkeys(DEMO_DOCUMENTS, Fate.ON_TIME))
                  for user in staff if user.bidang_id},
            kepala=role_holder(session, cycle.tenant_id, Role.KEPALA_DINAS),
            kasubbag=role_holder(session, cycle.tenant_id, Role.KASUBBAG_PROGRAM),
            staff_of={user.bidang_id: principal_for(user) for user in staff if user.bidang_id})
        report = request_cycle_report(
            session, cycle, principal=role_holder(session, cycle.tenant_id, Role.TIM_EVALUASI),
            at=now(), settings=settings)
        return report.id


def _report_state(factory: sessionmaker[Session], report_id: uuid.UUID) -> str:
    with factory() as session:
        return session.get_one(Report, report_id).state


def _records(factory: sessionmaker[Session]) -> dict[str, Any]:
    """What must survive a restart: cycles, steps with their deadlines, packages, versions with
    their objects, reports with their artifacts."""
    with factory() as session:
        steps = session.execute(select(CycleStep.id, CycleStep.state, CycleStep.due_at)
                                .order_by(CycleStep.id)).all()
        packages = session.execute(select(Submission.id, Submission.state)
                                   .order_by(Submission.id)).all()
        versions = session.execute(select(DocumentVersion.object_key, DocumentVersion.sha256)
                                   .order_by(DocumentVersion.object_key)).all()
        reports = session.execute(select(Report.id, Report.state, Report.pdf_key,
                                         Report.xlsx_key)).all()
        assert versions
        assert reports
        assert all(r.pdf_key and r.xlsx_key for r in reports)
        return {
            "cycles": sorted(str(c) for c in session.scalars(select(Cycle.id))),
            "steps": [(str(s.id), s.state, s.due_at) for s in steps],
            "packages": [(str(p.id), p.state) for p in packages],
            "objects": [(v.object_key, v.sha256) for v in versions],
            "reports": [(str(r.id), r.state, r.pdf_key, r.xlsx_key) for r in reports],
        }


def _deadline_passes_while_down(factory: sessionmaker[Session]) -> uuid.UUID:
    """The active step's deadline falls an hour ago (its reminder earlier), as if the stack had
    been down over it."""
    at = now()
    with transaction(factory) as session:
        step = session.scalars(select(CycleStep).where(CycleStep.state == "active")).one()
        step.due_soon_at = at - timedelta(hours=2)
        step.due_at = at - timedelta(hours=1)
        step.escalate_again_at = at + timedelta(days=30)
        step.alert_stage = AlertStage.NONE.value
        step.overdue_since = None
        step.next_action_at = step.due_soon_at
        return step.id


def _alert_stage(factory: sessionmaker[Session], step_id: uuid.UUID) -> int:
    with factory() as session:
        return session.get_one(CycleStep, step_id).alert_stage or 0
