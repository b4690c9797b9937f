"""`sakip events dlq list|replay` against a real Redis and PostgreSQL: an event dead-lettered by a
failing handler is listed, replayed onto the stream once the handler is fixed, and applied exactly
once, even when replayed twice (the consumers' inbox)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from sakip.cli import main
from shared.events import Consumer, Event, relay_once
from shared.events.dead_letters import dead_letter_stream
from tests.integration.test_events import APPLIED, applied_counts, emit_events, write_handler

GROUP = "dlq-test"


@pytest.fixture
def env(settings) -> dict[str, str]:
    return {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
            "SAKIP_ENV": "test", "SAKIP_STATE_DIR": str(settings.state_dir)}


def _consumer(settings, redis_client, session_factory, handler) -> Consumer:
    return Consumer(redis_client, session_factory, stream=settings.events_stream, group=GROUP,
                    name="c1", handlers={APPLIED: handler}, max_deliveries=1, claim_idle_ms=0)


def _poison(session: Session, event: Event) -> None:
    raise ValueError("handler bug")


def _dead_lettered(settings, redis_client, session_factory, count: int) -> list[Event]:
    events = emit_events(session_factory, count)
    relay_once(session_factory, redis_client, stream=settings.events_stream)
    consumer = _consumer(settings, redis_client, session_factory, _poison)
    for _ in range(4):
        consumer.run_once(block_ms=0)
    assert redis_client.xlen(dead_letter_stream(settings.events_stream)) == count
    return events


def _drain(settings, redis_client, session_factory) -> None:
    consumer = _consumer(settings, redis_client, session_factory, write_handler)
    for _ in range(4):
        consumer.run_once(block_ms=0)


def test_list_shows_each_dead_letter_with_its_reason(settings, session_factory, redis_client,
                                                     env):
    [event] = _dead_lettered(settings, redis_client, session_factory, 1)
    result = CliRunner().invoke(main, ["events", "dlq", "list"], env=env)
    assert result.exit_code == 0, result.output
    assert str(event.id) in result.output
    assert APPLIED in result.output
    assert f"group={GROUP}" in result.output
    assert "max deliveries exceeded" in result.output
    assert "1 dead letter(s)" in result.output


def test_replay_one_by_id_is_applied_once_even_when_replayed_again(settings, session_factory,
                                                                   redis_client, env):
    first, second = _dead_lettered(settings, redis_client, session_factory, 2)
    dead = dead_letter_stream(settings.events_stream)
    [(first_id, _), _] = redis_client.xrange(dead)
    runner = CliRunner()
    result = runner.invoke(main, ["events", "dlq", "replay", "--id", first_id.decode()], env=env)
    assert result.exit_code == 0, result.output
    assert "1 dead letter(s) replayed" in result.output
    assert redis_client.xlen(dead) == 1  # the other one waits
    _drain(settings, redis_client, session_factory)
    assert applied_counts(session_factory) == {str(first.id): 1}

    # The same event arriving again (e.g. a second replay from another copy) is a no-op.
    fields = {k: v for k, v in redis_client.xrange(dead)[0][1].items()}
    redis_client.xadd(dead, {**fields, b"id": str(first.id).encode()})
    assert runner.invoke(main, ["events", "dlq", "replay", "--all"], env=env).exit_code == 0
    assert redis_client.xlen(dead) == 0
    _drain(settings, redis_client, session_factory)
    assert applied_counts(session_factory) == {str(first.id): 1, str(second.id): 1}


def test_replay_needs_an_id_or_all_and_reports_unknown_ids(settings, redis_client, env):
    runner = CliRunner()
    assert runner.invoke(main, ["events", "dlq", "replay"], env=env).exit_code != 0
    result = runner.invoke(main, ["events", "dlq", "replay", "--id", "1-0"], env=env)
    assert result.exit_code != 0
    assert "not in the dead-letter stream: 1-0" in result.output
