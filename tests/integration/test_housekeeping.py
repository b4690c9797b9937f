"""Event-bus housekeeping against real PostgreSQL and Redis: sent outbox rows and old inbox rows
pruned, the stream trimmed without ever losing an entry a consumer group has not processed."""

from __future__ import annotations

import uuid
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from sakip.cli import main
from shared.clock import now
from shared.events.housekeeping import prune_inbox, prune_outbox, trim_stream
from shared.events.models import InboxEntry, OutboxEvent

STREAM = "sakip:test-housekeeping"


def _outbox(sent_days_ago: float | None) -> OutboxEvent:
    at = now()
    return OutboxEvent(event_id=uuid.uuid4(), type="test.event", schema_version=1,
                       tenant_id=None, occurred_at=at, payload={}, correlation_id=None,
                       created_at=at - timedelta(days=100),
                       sent_at=None if sent_days_ago is None else at - timedelta(
                           days=sent_days_ago))


def test_prune_removes_only_sent_outbox_rows_and_inbox_rows_past_retention(session_factory):
    with session_factory() as session, session.begin():
        session.add_all([_outbox(40), _outbox(10), _outbox(None)])
        session.add_all([
            InboxEntry(consumer="workflow", event_id=uuid.uuid4(), event_type="t",
                       processed_at=now() - timedelta(days=days)) for days in (100, 5)])
    with session_factory() as session, session.begin():
        assert prune_outbox(session, older_than=timedelta(days=30)) == 1
        assert prune_inbox(session, older_than=timedelta(days=90)) == 1
    with session_factory() as session:
        left = session.scalars(select(OutboxEvent)).all()
        assert sorted(row.sent_at is None for row in left) == [False, True]  # unsent row kept
        assert len(session.scalars(select(InboxEntry)).all()) == 1


def _ms_ago(days: float) -> int:
    return int((now() - timedelta(days=days)).timestamp() * 1000)


def test_trim_keeps_every_entry_a_group_has_not_processed(redis_client):
    ids = [redis_client.xadd(STREAM, {"n": str(n)}, id=f"{_ms_ago(20 - n)}-0").decode()
           for n in range(10)]  # 20 .. 11 days old
    redis_client.xgroup_create(STREAM, "fast", id="$")
    redis_client.xgroup_create(STREAM, "slow", id="0")
    # "slow" has read three entries and acknowledged only the first: the second is pending.
    redis_client.xreadgroup("slow", "c1", {STREAM: ">"}, count=3)
    redis_client.xack(STREAM, "slow", ids[0])
    result = trim_stream(redis_client, stream=STREAM, older_than=timedelta(days=7),
                         margin=timedelta(0))
    assert result.trimmed == 1  # only the acknowledged entry, though all are older than 7 days
    assert [e[0].decode() for e in redis_client.xrange(STREAM)] == ids[1:]

    # All three acknowledged: "slow" still needs what follows its last delivered entry
    # (ids[2], 18 days old); a margin of 12 hours keeps ids[2] and trims ids[1] (19 days old).
    redis_client.xack(STREAM, "slow", ids[1], ids[2])
    result = trim_stream(redis_client, stream=STREAM, older_than=timedelta(days=7),
                         margin=timedelta(hours=12))
    assert result.trimmed == 1
    assert redis_client.xrange(STREAM)[0][0].decode() == ids[2]


def test_trim_without_groups_uses_the_retention_only(redis_client):
    for n in range(5):
        redis_client.xadd(STREAM, {"n": str(n)}, id=f"{_ms_ago(10 - 2 * n)}-0")  # 10..2 days
    result = trim_stream(redis_client, stream=STREAM, older_than=timedelta(days=7),
                         margin=timedelta(hours=1))
    assert (result.trimmed, result.remaining) == (2, 3)
    assert trim_stream(redis_client, stream="absent", older_than=timedelta(days=7),
                       margin=timedelta(0)).trimmed == 0


def test_events_prune_command(settings, session_factory, redis_client):
    with session_factory() as session, session.begin():
        session.add_all([_outbox(40), _outbox(None)])
    redis_client.xadd(settings.events_stream, {"n": "old"}, id=f"{_ms_ago(30)}-0")
    redis_client.xadd(settings.events_stream, {"n": "new"})
    env = {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "SAKIP_ENV": "test", "SAKIP_STATE_DIR": str(settings.state_dir)}
    result = CliRunner().invoke(main, ["events", "prune"], env=env)
    assert result.exit_code == 0, result.output
    assert "outbox: 1 sent row(s) pruned" in result.output
    assert "1 entr(ies) trimmed" in result.output
    assert redis_client.xlen(settings.events_stream) == 1

    refused = CliRunner().invoke(main, ["events", "prune", "--inbox-days", "3",
                                        "--stream-days", "7"], env=env)
    assert refused.exit_code != 0
    assert "--inbox-days must exceed --stream-days" in refused.output
