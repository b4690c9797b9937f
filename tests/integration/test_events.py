"""The event bus end to end on a real PostgreSQL and a real Redis: outbox -> relay -> stream ->
consumer group -> handler + inbox. Tests that break Redis start a Redis server of their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from marshmallow import Schema, fields
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sakip.localinfra import RedisServer
from shared.audit import AuditEntry, record
from shared.config import load_settings
from shared.db import transaction
from shared.events import (
    Consumer,
    Event,
    InboxEntry,
    OutboxEvent,
    emit,
    from_stream_fields,
    make_redis_client,
    new_event,
    oldest_pending_age_seconds,
    payload_schema,
    pending_count,
    relay_once,
    run_relay,
)
from shared.identity.models import Tenant
from shared.logging import correlation, current_correlation_id

STREAM = "test:events"
DEAD = f"{STREAM}:dead"
GROUP = "test-group"
APPLIED = "test.applied"


@payload_schema(APPLIED, version=1)
class AppliedPayload(Schema):
    n = fields.Integer(required=True)


class Killed(BaseException):
    """Stands for the consumer process dying mid-batch: nothing after it runs."""


def write_handler(session: Session, event: Event) -> None:
    """The business effect of an event: one audit row naming it."""
    record(session, service="test", action=APPLIED, target_type="event", target_id=event.id,
           after=event.payload)


def emit_events(session_factory: sessionmaker[Session], count: int) -> list[Event]:
    """Commit `count` business rows (tenants), each with its event, one transaction each."""
    events = []
    for n in range(count):
        with transaction(session_factory) as session:
            tenant = Tenant(slug=f"dinas-{uuid.uuid4().hex[:8]}", name=f"Dinas {n}")
            session.add(tenant)
            session.flush()
            event = new_event(APPLIED, tenant_id=tenant.id, payload={"n": n})
            emit(session, event)
        events.append(event)
    return events


def applied_counts(session_factory: sessionmaker[Session]) -> dict[str, int]:
    """How many times each event id was applied (audit rows written by the handler)."""
    with session_factory() as session:
        rows = session.execute(
            select(AuditEntry.target_id, func.count())
            .where(AuditEntry.action == APPLIED)
            .group_by(AuditEntry.target_id)
        ).all()
    return {str(target): int(n) for target, n in rows}


def count_rows(session_factory: sessionmaker[Session], model: type) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def make_consumer(client: redis.Redis, session_factory: sessionmaker[Session], *,
                  name: str = "c1", handler: Callable[[Session, Event], None] = write_handler,
                  max_deliveries: int = 5, claim_idle_ms: int = 30_000) -> Consumer:
    return Consumer(client, session_factory, stream=STREAM, group=GROUP, name=name,
                    handlers={APPLIED: handler}, max_deliveries=max_deliveries,
                    claim_idle_ms=claim_idle_ms)


def drain(consumer: Consumer, rounds: int = 4) -> None:
    for _ in range(rounds):
        consumer.run_once(block_ms=0)


def pending_in_group(client: redis.Redis) -> int:
    return int(client.xpending(STREAM, GROUP)["pending"])


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis server this test owns and may stop and start again on the same port."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


# (a) -------------------------------------------------------------------------------------------


def test_committed_event_is_relayed_and_applied_once(session_factory, redis_client):
    [event] = emit_events(session_factory, 1)
    with session_factory() as session:
        assert pending_count(session) == 1
        assert oldest_pending_age_seconds(session) >= 0.0

    assert relay_once(session_factory, redis_client, stream=STREAM) == 1
    assert relay_once(session_factory, redis_client, stream=STREAM) == 0
    consumer = make_consumer(redis_client, session_factory)
    assert consumer.run_once(block_ms=0) == 1
    assert consumer.run_once(block_ms=0) == 0

    assert applied_counts(session_factory) == {str(event.id): 1}
    with session_factory() as session:
        inbox = session.get(InboxEntry, (GROUP, event.id))
        assert inbox is not None
        assert inbox.event_type == APPLIED
        row = session.scalars(select(OutboxEvent)).one()
        assert row.event_id == event.id
        assert row.sent_at is not None
        assert pending_count(session) == 0
        assert oldest_pending_age_seconds(session) == 0.0
    assert pending_in_group(redis_client) == 0


def test_rolled_back_emit_leaves_nothing(session_factory, redis_client):
    def failing_change() -> None:
        with transaction(session_factory) as session:
            session.add(Tenant(slug="dinas-gone", name="Dinas Gone"))
            emit(session, new_event(APPLIED, tenant_id=None, payload={"n": 1}))
            session.flush()
            raise RuntimeError("the business change failed")

    with pytest.raises(RuntimeError):
        failing_change()

    assert count_rows(session_factory, OutboxEvent) == 0
    assert count_rows(session_factory, Tenant) == 0
    assert relay_once(session_factory, redis_client, stream=STREAM) == 0
    assert redis_client.xlen(STREAM) == 0


def test_two_relays_do_not_take_the_same_rows(session_factory, redis_client):
    emit_events(session_factory, 3)
    with session_factory() as other_relay, other_relay.begin():
        other_relay.scalars(select(OutboxEvent).order_by(OutboxEvent.seq).limit(2)
                            .with_for_update()).all()
        assert relay_once(session_factory, redis_client, stream=STREAM) == 1
    assert relay_once(session_factory, redis_client, stream=STREAM) == 2
    assert redis_client.xlen(STREAM) == 3


# (b) -------------------------------------------------------------------------------------------


def test_events_written_while_redis_is_down_arrive_exactly_once(session_factory, own_redis):
    client = make_redis_client(own_redis.url, retries=0)
    try:
        consumer = make_consumer(client, session_factory)
        own_redis.stop()

        events = emit_events(session_factory, 5)  # the business rows commit without Redis
        with pytest.raises(redis.ConnectionError):
            relay_once(session_factory, client, stream=STREAM)
        with session_factory() as session:
            assert pending_count(session) == 5
        assert count_rows(session_factory, Tenant) == 5

        own_redis.start()  # same port; no persistence, so the group is gone too
        assert relay_once(session_factory, client, stream=STREAM) == 5
        drain(consumer)
        # A duplicate publication (e.g. a commit lost after XADD) changes nothing either.
        with transaction(session_factory) as session:
            for row in session.scalars(select(OutboxEvent)):
                row.sent_at = None
        assert relay_once(session_factory, client, stream=STREAM) == 5
        drain(consumer)
    finally:
        client.close()

    assert applied_counts(session_factory) == {str(e.id): 1 for e in events}
    assert count_rows(session_factory, InboxEntry) == 5


def test_relay_and_consumer_loops_ride_out_a_redis_outage(session_factory, own_redis, pg_url):
    settings = load_settings({"SAKIP_ENV": "test", "DATABASE_URL": pg_url,
                              "REDIS_URL": own_redis.url, "EVENTS_STREAM": STREAM})
    client = make_redis_client(own_redis.url, retries=0)
    consumer = make_consumer(client, session_factory)
    stop = threading.Event()
    relay = threading.Thread(target=run_relay, args=(settings,),
                             kwargs={"stop": stop, "poll_interval": 0.05})
    consuming = threading.Thread(target=consumer.run, args=(stop,), kwargs={"block_ms": 50})
    relay.start()
    consuming.start()
    try:
        before = emit_events(session_factory, 2)
        _wait_for(lambda: len(applied_counts(session_factory)) == 2)
        own_redis.stop()
        during = emit_events(session_factory, 3)
        time.sleep(0.5)
        with session_factory() as session:
            assert pending_count(session) == 3
        own_redis.start()
        _wait_for(lambda: len(applied_counts(session_factory)) == 5)
    finally:
        stop.set()
        relay.join(10)
        consuming.join(10)
        client.close()
    assert not relay.is_alive()
    assert not consuming.is_alive()
    assert applied_counts(session_factory) == {str(e.id): 1 for e in before + during}


def _wait_for(check: Callable[[], bool], timeout: float = 4.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


# (c) -------------------------------------------------------------------------------------------


def test_duplicate_delivery_is_applied_once(session_factory, redis_client):
    [event] = emit_events(session_factory, 1)
    relay_once(session_factory, redis_client, stream=STREAM)
    [(_entry_id, entry_fields)] = redis_client.xrange(STREAM)
    redis_client.xadd(STREAM, entry_fields)
    redis_client.xadd(STREAM, entry_fields)
    calls: list[uuid.UUID] = []

    def counting_handler(session: Session, event: Event) -> None:
        calls.append(event.id)
        write_handler(session, event)

    consumer = make_consumer(redis_client, session_factory, handler=counting_handler)
    assert consumer.run_once(block_ms=0) == 3
    redis_client.xadd(STREAM, entry_fields)  # and once more after it was applied
    drain(consumer)

    assert calls == [event.id]
    assert applied_counts(session_factory) == {str(event.id): 1}
    assert pending_in_group(redis_client) == 0


# (d) -------------------------------------------------------------------------------------------


def test_poison_event_is_dead_lettered_after_max_deliveries(session_factory, redis_client):
    [event] = emit_events(session_factory, 1)
    relay_once(session_factory, redis_client, stream=STREAM)
    calls = []

    def poison(session: Session, event: Event) -> None:
        calls.append(event.id)
        write_handler(session, event)  # rolled back with the failure
        raise ValueError("cannot apply this one")

    consumer = make_consumer(redis_client, session_factory, handler=poison,
                             max_deliveries=3, claim_idle_ms=0)
    for _ in range(6):
        consumer.run_once(block_ms=0)

    assert len(calls) == 3
    [(_dead_id, dead_fields)] = redis_client.xrange(DEAD)
    assert from_stream_fields(dead_fields) == event
    assert dead_fields[b"dead_reason"] == b"max deliveries exceeded"
    assert dead_fields[b"dead_deliveries"] == b"4"
    assert dead_fields[b"dead_group"] == GROUP.encode()
    assert pending_in_group(redis_client) == 0
    assert applied_counts(session_factory) == {}
    assert count_rows(session_factory, InboxEntry) == 0


def test_unparseable_entry_is_dead_lettered_at_once(session_factory, redis_client):
    consumer = make_consumer(redis_client, session_factory, max_deliveries=3)
    garbage_id = redis_client.xadd(STREAM, {"id": "nope", "payload": "{"})
    [good] = emit_events(session_factory, 1)
    relay_once(session_factory, redis_client, stream=STREAM)

    assert consumer.run_once(block_ms=0) == 2

    [(_dead_id, dead_fields)] = redis_client.xrange(DEAD)
    assert dead_fields[b"id"] == b"nope"
    assert dead_fields[b"dead_reason"].startswith(b"unparseable")
    assert dead_fields[b"dead_entry_id"] == garbage_id
    assert pending_in_group(redis_client) == 0
    assert applied_counts(session_factory) == {str(good.id): 1}


def test_events_without_a_handler_are_acked_and_skipped(session_factory, redis_client):
    emit_events(session_factory, 2)
    relay_once(session_factory, redis_client, stream=STREAM)
    consumer = Consumer(redis_client, session_factory, stream=STREAM, group="uninterested",
                        name="c1", handlers={})
    assert consumer.run_once(block_ms=0) == 2
    assert redis_client.xpending(STREAM, "uninterested")["pending"] == 0
    assert count_rows(session_factory, InboxEntry) == 0


# (e) -------------------------------------------------------------------------------------------


def test_entries_of_a_killed_consumer_are_reclaimed_and_applied_once(session_factory,
                                                                     redis_client):
    events = emit_events(session_factory, 5)
    relay_once(session_factory, redis_client, stream=STREAM)
    calls = 0

    def dies_on_second(session: Session, event: Event) -> None:
        nonlocal calls
        calls += 1
        write_handler(session, event)
        if calls == 2:
            raise Killed

    first = make_consumer(redis_client, session_factory, name="first",
                          handler=dies_on_second, claim_idle_ms=50)
    with pytest.raises(Killed):
        first.run_once(block_ms=0, count=10)
    assert applied_counts(session_factory) == {str(events[0].id): 1}
    assert pending_in_group(redis_client) == 4  # read by "first", never acked

    second = make_consumer(redis_client, session_factory, name="second", claim_idle_ms=50)
    assert second.run_once(block_ms=0) == 0  # not idle long enough yet
    time.sleep(0.1)
    assert second.run_once(block_ms=0) == 4
    drain(second)

    assert applied_counts(session_factory) == {str(e.id): 1 for e in events}
    assert pending_in_group(redis_client) == 0


# (f) -------------------------------------------------------------------------------------------


def test_correlation_id_travels_from_emit_to_handler(session_factory, redis_client):
    outside = current_correlation_id()
    with correlation("cid-upload-42"), transaction(session_factory) as session:
        emit(session, new_event(APPLIED, tenant_id=None, payload={"n": 1}))
    assert current_correlation_id() == outside
    relay_once(session_factory, redis_client, stream=STREAM)
    seen: list[str | None] = []

    def handler(session: Session, event: Event) -> None:
        seen.append(current_correlation_id())
        write_handler(session, event)

    make_consumer(redis_client, session_factory, handler=handler).run_once(block_ms=0)

    assert seen == ["cid-upload-42"]
    with session_factory() as session:
        audit = session.scalars(select(AuditEntry)).one()
    assert audit.correlation_id == "cid-upload-42"


# the relay process ------------------------------------------------------------------------------


def test_relay_process_publishes_and_stops_on_sigterm(session_factory, redis_client, pg_url,
                                                      redis_server):
    env = {**os.environ, "SAKIP_ENV": "test", "DATABASE_URL": pg_url,
           "REDIS_URL": redis_server.url, "EVENTS_STREAM": STREAM, "LOG_JSON": "false",
           "METRICS_PORT": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen([sys.executable, "-m", "shared.events.relay"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        [event] = emit_events(session_factory, 1)
        _wait_for(lambda: redis_client.xlen(STREAM) == 1, timeout=10)
        [(_entry_id, entry_fields)] = redis_client.xrange(STREAM)
        assert from_stream_fields(entry_fields).id == event.id
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert b"relay stopped" in stderr
