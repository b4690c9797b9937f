"""The deadline scheduler against the real PostgreSQL and Redis, the clock set by each test.

The world's two dinas are collecting (SOP step 5) since Monday 6 April 2026 08.00 WIB, due
Monday 13 April 08.00 WIB (5 working days). Office hours Mon-Thu 07.30-16.00, Fri 07.30-16.30:
the step's working time is 8 h (Mon) + 3 x 8.5 h + 9 h (Fri) + 0.5 h (next Mon) = 43 h, so the
reminder is due at 75 % = 32 h 15 min: Mon 8 h, Tue 8.5 h, Wed 8.5 h (25 h), then Thursday
07.30 + 7 h 15 min = Thursday 9 April 14.45 WIB. The second escalation comes one working day
after the deadline: Tuesday 14 April 08.00 WIB.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sakip.seeding import SEED_TEMPLATE
from services.intake.accounts import create_tenant, create_user
from services.workflow import alerts, collection
from services.workflow.actions import grant_extension
from services.workflow.cycles import cancel_cycle, get_cycle, open_cycle, publish_template, step_of
from services.workflow.notify import holders
from services.workflow.scheduler import PassResult, run_pass
from shared.audit import AuditEntry
from shared.cycles.models import AlertStage, CycleStep, ItemProgress, Notification
from shared.db import make_engine, make_session_factory, migrate, transaction
from shared.events import Event, OutboxEvent, from_stream_fields, relay_once
from shared.identity.loading import principal_for
from shared.identity.models import ActingAssignment, User
from shared.identity.roles import Role
from shared.sop.template import load_shipped_template
from tests.world import PASSWORD, SEEDED_AT, Dinas, World

WIB = ZoneInfo("Asia/Jakarta")
STREAM = "test:scheduler"
ALERTS = ("step.due_soon", "step.overdue", "step.escalated")


def wib(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB).astimezone(UTC)


REMIND_AT = wib(4, 9, 14, 45)
DUE_AT = wib(4, 13, 8)
ESCALATE_AT = wib(4, 14, 8)
MINUTE = timedelta(minutes=1)


# -- helpers --------------------------------------------------------------------------------------

def alert_events(factory: sessionmaker[Session], client: redis.Redis) -> list[Event]:
    """Relay the outbox to the test stream and read the alert events back, in order."""
    while relay_once(factory, client, stream=STREAM):
        pass
    entries: Any = client.xrange(STREAM)
    events = [from_stream_fields(fields) for _id, fields in entries]
    return [e for e in events if e.type in ALERTS]


def collection_step(factory: sessionmaker[Session], dinas: Dinas) -> CycleStep:
    with factory() as session:
        return step_of(session, get_cycle(session, dinas.cycle_id), 5)


def inbox(factory: sessionmaker[Session], username: str,
          kind: str | None = None) -> list[Notification]:
    with factory() as session:
        query = (select(Notification).join(User, User.id == Notification.user_id)
                 .where(User.username == username).order_by(Notification.created_at))
        if kind is not None:
            query = query.where(Notification.kind == kind)
        return list(session.scalars(query))


def counts(factory: sessionmaker[Session]) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Alert audit rows, outbox events and notifications, by kind."""
    with factory() as session:
        audited = Counter(dict(session.execute(
            select(AuditEntry.action, func.count()).where(AuditEntry.action.in_(ALERTS))
            .group_by(AuditEntry.action)).all()))
        events = Counter(dict(session.execute(
            select(OutboxEvent.type, func.count()).where(OutboxEvent.type.in_(ALERTS))
            .group_by(OutboxEvent.type)).all()))
        notified = Counter(dict(session.execute(
            select(Notification.kind, func.count()).where(Notification.kind.in_(ALERTS))
            .group_by(Notification.kind)).all()))
    return audited, events, notified


def add_user(factory: sessionmaker[Session], username: str, tenant_id: uuid.UUID | None,
             role: Role) -> uuid.UUID:
    with transaction(factory) as session:
        return create_user(session, username=username, full_name=username, password=PASSWORD,
                           roles=[(role, tenant_id)], tenant_id=tenant_id).id


def act_as(factory: sessionmaker[Session], user_id: uuid.UUID, role: Role,
           tenant_id: uuid.UUID | None, starts_on: date, ends_on: date,
           revoked: bool = False) -> None:
    with transaction(factory) as session:
        session.add(ActingAssignment(user_id=user_id, role=role.value, tenant_id=tenant_id,
                                     kind="plt", starts_on=starts_on, ends_on=ends_on,
                                     reason="Kepala definitif cuti",
                                     revoked_at=SEEDED_AT if revoked else None))


# -- the plan -------------------------------------------------------------------------------------

def test_reminder_at_75_percent_of_the_working_time(world: World, session_factory,
                                                    redis_client):
    step = collection_step(session_factory, world.a)
    assert step.due_at == DUE_AT
    assert step.due_soon_at == REMIND_AT
    assert step.escalate_again_at == ESCALATE_AT
    assert step.next_action_at == REMIND_AT

    assert run_pass(session_factory, at=REMIND_AT - MINUTE).total == 0
    result = run_pass(session_factory, at=REMIND_AT)

    assert result.actions == {"step.due_soon": 2}
    assert (result.claimed, result.lost, result.failed_tenants) == (2, 0, set())
    step = collection_step(session_factory, world.a)
    assert (step.alert_stage, step.next_action_at) == (AlertStage.REMINDED, DUE_AT)
    events = alert_events(session_factory, redis_client)
    assert sorted((e.type, e.tenant_id) for e in events) == sorted(
        ("step.due_soon", d.tenant_id) for d in (world.a, world.b))
    [event_a] = [e for e in events if e.tenant_id == world.a.tenant_id]
    assert event_a.payload["step_id"] == str(step.id)
    assert event_a.payload["number"] == 5
    assert set(event_a.payload["notified_user_ids"]) == {
        str(world.a.users[world.a.username(k)]) for k in ("staf1", "staf2", "kasubbag")}


def test_collection_reminder_lists_what_each_bidang_misses(world: World, session_factory):
    a = world.a
    with transaction(session_factory) as session:
        cycle = get_cycle(session, a.cycle_id)
        collection.move_items(session, cycle, a.bidang[0], ["IKU"], ItemProgress.ACCEPTED,
                              SEEDED_AT + timedelta(days=1))
        collection.move_items(session, cycle, a.bidang[1], ["IKU", "RENJA"],
                              ItemProgress.ACCEPTED, SEEDED_AT + timedelta(days=1))

    run_pass(session_factory, at=REMIND_AT)

    [staff] = inbox(session_factory, a.username("staf1"), "step.due_soon")
    assert "SAKIP 2026" in staff.subject
    assert "Bidang 1" in staff.subject
    assert "Rencana Kerja (Renja)" in staff.body
    assert "Indikator Kinerja Utama" not in staff.body
    assert "Batas waktu bagi Bidang 1: 13 April 2026 pukul 08.00 WIB" in staff.body
    assert "Dinas A" in staff.body
    assert "langkah 5" in staff.body
    assert inbox(session_factory, a.username("staf2"), "step.due_soon") == []  # nothing owed
    [summary] = inbox(session_factory, a.username("kasubbag"), "step.due_soon")
    assert "13 April 2026 pukul 08.00 WIB" in summary.subject
    assert "- Bidang 1: Rencana Kerja (Renja)" in summary.body
    assert "Bidang 2" not in summary.body
    assert inbox(session_factory, a.username("kepala"), "step.due_soon") == []
    # Dinas B owes everything: each Bidang is told both documents.
    [b_staff] = inbox(session_factory, world.b.username("staf2"), "step.due_soon")
    assert "Indikator Kinerja Utama (IKU)" in b_staff.body
    assert "Rencana Kerja (Renja)" in b_staff.body


def test_overdue_at_the_deadline_then_second_escalation_once(world: World, session_factory,
                                                             redis_client):
    run_pass(session_factory, at=REMIND_AT)
    assert run_pass(session_factory, at=DUE_AT - MINUTE).total == 0

    overdue = run_pass(session_factory, at=DUE_AT)
    assert overdue.actions == {"step.overdue": 2}
    step = collection_step(session_factory, world.a)
    assert (step.alert_stage, step.overdue_since, step.next_action_at) == (
        AlertStage.OVERDUE, DUE_AT, ESCALATE_AT)
    [kepala] = inbox(session_factory, world.a.username("kepala"), "step.overdue")
    assert "Terlambat" in kepala.subject
    assert "Dinas A" in kepala.subject
    assert "13 April 2026 pukul 08.00 WIB" in kepala.body
    assert "- Bidang 1: Indikator Kinerja Utama (IKU), Rencana Kerja (Renja)" in kepala.body
    assert "- Bidang 2: Indikator Kinerja Utama (IKU), Rencana Kerja (Renja)" in kepala.body
    assert len(inbox(session_factory, world.a.username("kasubbag"), "step.overdue")) == 1
    [late] = inbox(session_factory, world.a.username("staf1"), "step.overdue")
    assert "belum diterima" in late.body
    assert "Bidang 1" in late.body
    assert inbox(session_factory, world.city_users["inspektur"], "step.overdue") == []

    assert run_pass(session_factory, at=DUE_AT).total == 0
    assert run_pass(session_factory, at=ESCALATE_AT - MINUTE).total == 0
    escalated = run_pass(session_factory, at=ESCALATE_AT)
    assert escalated.actions == {"step.escalated": 2}
    [inspektur_a] = [n for n in inbox(session_factory, world.city_users["inspektur"],
                                      "step.escalated") if n.tenant_id == world.a.tenant_id]
    assert "Eskalasi" in inspektur_a.subject
    assert "1 hari kerja" in inspektur_a.subject
    assert "Dinas A" in inspektur_a.body
    assert "siklus SAKIP 2026" in inspektur_a.body
    assert inbox(session_factory, world.a.username("kepala"), "step.escalated") == []
    step = collection_step(session_factory, world.a)
    assert (step.alert_stage, step.next_action_at) == (AlertStage.ESCALATED_AGAIN, None)

    for later in (ESCALATE_AT, ESCALATE_AT + timedelta(days=30)):
        assert run_pass(session_factory, at=later) == PassResult()
    events = alert_events(session_factory, redis_client)
    assert [e.type for e in events if e.tenant_id == world.a.tenant_id] == [
        "step.due_soon", "step.overdue", "step.escalated"]
    [escalation] = [e for e in events
                    if e.type == "step.escalated" and e.tenant_id == world.a.tenant_id]
    assert escalation.payload["roles"] == ["inspektur"]
    assert counts(session_factory)[0] == {"step.due_soon": 2, "step.overdue": 2,
                                          "step.escalated": 2}


def test_a_scheduler_that_was_down_catches_up_with_one_action(world: World, session_factory,
                                                              redis_client):
    result = run_pass(session_factory, at=ESCALATE_AT + timedelta(days=2))

    assert result.actions == {"step.overdue": 2, "step.escalated": 2}
    assert result.claimed == 2
    events = alert_events(session_factory, redis_client)
    assert [e.type for e in events if e.tenant_id == world.a.tenant_id] == [
        "step.overdue", "step.escalated"]  # never reminded: it was already overdue
    assert inbox(session_factory, world.a.username("kasubbag"), "step.due_soon") == []


def test_an_empty_pass_does_nothing(world: World, session_factory, redis_client):
    before = counts(session_factory)
    with session_factory() as session:
        audit_rows = session.scalar(select(func.count()).select_from(AuditEntry))

    assert run_pass(session_factory, at=SEEDED_AT + timedelta(days=1)) == PassResult()

    assert counts(session_factory) == before
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_rows
    assert alert_events(session_factory, redis_client) == []


@pytest.mark.evidence(
    "fault",
    "Two schedulers ran their passes at the same moment over the same due steps.",
    "Each reminder, overdue mark and escalation happened exactly once (one claim per row).")
def test_two_schedulers_racing_do_each_action_once(world: World, session_factory,
                                                   redis_client):
    at = ESCALATE_AT + timedelta(hours=1)  # each step owes two actions: overdue, escalated
    start = threading.Barrier(2)
    results: list[PassResult] = []
    errors: list[BaseException] = []

    def scheduler() -> None:
        try:
            start.wait(timeout=30)
            results.append(run_pass(session_factory, at=at, batch_size=1))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(r.claimed for r in results) == 2
    assert sum((r.actions for r in results), Counter()) == {"step.overdue": 2,
                                                            "step.escalated": 2}
    audited, outbox, notified = counts(session_factory)
    assert audited == outbox == {"step.overdue": 2, "step.escalated": 2}
    # per dinas: kepala, kasubbag and each late Bidang's staff member; then the inspektur
    assert notified == {"step.overdue": 8, "step.escalated": 2}
    [one] = inbox(session_factory, world.a.username("kepala"), "step.overdue")
    assert one.tenant_id == world.a.tenant_id
    assert len(inbox(session_factory, world.city_users["inspektur"], "step.escalated")) == 2
    events = alert_events(session_factory, redis_client)
    assert Counter(e.type for e in events) == {"step.overdue": 2, "step.escalated": 2}
    assert run_pass(session_factory, at=at) == PassResult()


# -- who is told ----------------------------------------------------------------------------------

def test_an_acting_kepala_dinas_gets_the_escalation_on_the_days_assigned(world: World,
                                                                          session_factory):
    a = world.a
    covering = add_user(session_factory, "dinas-a.plt-kepala", a.tenant_id, Role.TIM_EVALUASI)
    earlier = add_user(session_factory, "dinas-a.plh-lalu", a.tenant_id, Role.TIM_EVALUASI)
    revoked = add_user(session_factory, "dinas-a.plt-dicabut", a.tenant_id, Role.TIM_EVALUASI)
    act_as(session_factory, covering, Role.KEPALA_DINAS, a.tenant_id, date(2026, 4, 13),
           date(2026, 4, 17))
    act_as(session_factory, earlier, Role.KEPALA_DINAS, a.tenant_id, date(2026, 4, 1),
           date(2026, 4, 10))
    act_as(session_factory, revoked, Role.KEPALA_DINAS, a.tenant_id, date(2026, 4, 13),
           date(2026, 4, 17), revoked=True)
    # Plt Kepala Dinas of dinas A only: dinas B's escalation does not reach them.
    with session_factory() as session:
        day = date(2026, 4, 13)
        assert holders(session, Role.KEPALA_DINAS, a.tenant_id, day) == [
            a.users[a.username("kepala")], covering]
        assert holders(session, Role.KEPALA_DINAS, world.b.tenant_id, day) == [
            world.b.users[world.b.username("kepala")]]

    run_pass(session_factory, at=DUE_AT)

    [told] = inbox(session_factory, "dinas-a.plt-kepala", "step.overdue")
    assert told.tenant_id == a.tenant_id
    assert "Dinas A" in told.body
    assert inbox(session_factory, "dinas-a.plh-lalu") == []
    assert inbox(session_factory, "dinas-a.plt-dicabut") == []


def test_an_acting_inspektur_gets_the_second_escalation(world: World, session_factory):
    acting = add_user(session_factory, "kota.plh-inspektur", None, Role.BAGIAN_ORGANISASI)
    act_as(session_factory, acting, Role.INSPEKTUR, None, date(2026, 4, 14), date(2026, 4, 14))

    run_pass(session_factory, at=ESCALATE_AT)

    assert {n.tenant_id for n in inbox(session_factory, "kota.plh-inspektur",
                                       "step.escalated")} == {world.a.tenant_id,
                                                              world.b.tenant_id}


# -- plans that change ----------------------------------------------------------------------------

def test_a_whole_cycle_extension_rearms_the_alerts(world: World, session_factory,
                                                   redis_client):
    a = world.a
    run_pass(session_factory, at=REMIND_AT)
    run_pass(session_factory, at=DUE_AT)
    new_due = wib(4, 24, 15)  # Friday 24 April 15.00 WIB
    granted_at = DUE_AT + timedelta(hours=2)
    with transaction(session_factory) as session:
        grant_extension(session, get_cycle(session, a.cycle_id), principal=a.principals["kepala"],
                        at=granted_at, due_at=new_due, reason="Banyak Bidang sedang dinas luar.")
    step = collection_step(session_factory, a)
    assert step.due_at == new_due
    assert step.alert_stage == AlertStage.NONE  # the new reminder time is still ahead
    assert step.next_action_at == step.due_soon_at
    assert step.due_soon_at is not None
    assert granted_at < step.due_soon_at < new_due

    assert run_pass(session_factory, at=ESCALATE_AT).actions == {"step.escalated": 1}  # B only
    assert run_pass(session_factory, at=step.due_soon_at).actions == {"step.due_soon": 1}
    assert run_pass(session_factory, at=new_due).actions == {"step.overdue": 1}

    reminders = inbox(session_factory, a.username("staf1"), "step.due_soon")
    assert len(reminders) == 2
    assert "24 April 2026 pukul 15.00 WIB" in reminders[-1].body
    [_, second] = inbox(session_factory, a.username("kepala"), "step.overdue")
    assert "24 April 2026 pukul 15.00 WIB" in second.body
    events = [e for e in alert_events(session_factory, redis_client)
              if e.tenant_id == a.tenant_id]
    assert [e.type for e in events] == ["step.due_soon", "step.overdue", "step.due_soon",
                                        "step.overdue"]
    assert events[-1].payload["due_at"] == new_due.isoformat()


def test_a_cancelled_cycles_steps_never_fire(world: World, session_factory, redis_client):
    with transaction(session_factory) as session:
        cancel_cycle(session, get_cycle(session, world.b.cycle_id), at=SEEDED_AT + MINUTE,
                     principal=world.b.principals["kepala"], reason="Salah tahun anggaran.")

    for at in (REMIND_AT, DUE_AT, ESCALATE_AT):
        run_pass(session_factory, at=at)

    assert {e.tenant_id for e in alert_events(session_factory, redis_client)} == {
        world.a.tenant_id}
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Notification).where(
            Notification.tenant_id == world.b.tenant_id,
            Notification.kind.in_(ALERTS))) == 0


def test_a_failing_tenant_does_not_stop_the_others_and_is_retried(world: World, session_factory,
                                                                   redis_client, monkeypatch):
    real_notify = alerts.notification_rows

    def notify_failing_for_a(user_ids, *, tenant_id, **kwargs):
        if tenant_id == world.a.tenant_id:
            raise RuntimeError("kotak masuk dinas A sedang rusak")
        return real_notify(user_ids, tenant_id=tenant_id, **kwargs)

    monkeypatch.setattr(alerts, "notification_rows", notify_failing_for_a)
    failed = run_pass(session_factory, at=DUE_AT)

    assert failed.failed_tenants == {world.a.tenant_id}
    assert failed.actions == {"step.overdue": 1}
    step = collection_step(session_factory, world.a)
    assert (step.alert_stage, step.next_action_at) == (AlertStage.NONE, REMIND_AT)
    assert {e.tenant_id for e in alert_events(session_factory, redis_client)} == {
        world.b.tenant_id}
    assert inbox(session_factory, world.a.username("kepala"), "step.overdue") == []

    monkeypatch.setattr(alerts, "notification_rows", real_notify)
    retried = run_pass(session_factory, at=DUE_AT)

    assert retried.actions == {"step.overdue": 1}
    assert retried.failed_tenants == set()
    assert len(inbox(session_factory, world.a.username("kepala"), "step.overdue")) == 1
    assert counts(session_factory)[0] == {"step.overdue": 2}


def test_the_scheduler_runs_on_sqlite_too(tmp_path):
    """The local default database: one claim statement per row, plain multi-row inserts."""
    url = f"sqlite:///{tmp_path / 'sakip.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as session:
            tenant = create_tenant(session, slug="dinas-c", name="Dinas C")
            kepala = create_user(session, username="dinas-c.kepala", full_name="Kepala C",
                                 password=PASSWORD, roles=[(Role.KEPALA_DINAS, tenant.id)],
                                 tenant_id=tenant.id)
            template = publish_template(session, load_shipped_template(*SEED_TEMPLATE))
            cycle = open_cycle(session, tenant_id=tenant.id, year=2026, template=template,
                               at=SEEDED_AT, principal=principal_for(kepala))
            cycle_id = cycle.id
        # step 1 takes one working hour: due 09.00 WIB, escalated again a working day later
        result = run_pass(factory, at=SEEDED_AT + timedelta(days=2))
        assert result.actions == {"step.overdue": 1, "step.escalated": 1}
        assert run_pass(factory, at=SEEDED_AT + timedelta(days=3)) == PassResult()
        with factory() as session:
            step = step_of(session, get_cycle(session, cycle_id), 1)
            assert step.alert_stage == AlertStage.ESCALATED_AGAIN
            [told] = session.scalars(select(Notification).where(
                Notification.user_id == kepala.id, Notification.kind == "step.overdue")).all()
            assert "Dinas C" in told.body
            assert session.scalar(select(func.count()).select_from(OutboxEvent).where(
                OutboxEvent.type.in_(ALERTS))) == 2
    finally:
        engine.dispose()
