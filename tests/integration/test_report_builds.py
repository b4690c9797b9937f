"""The report build as a command (services.reporting.builds), run in-process against the real
PostgreSQL and S3: claiming, redelivery, reuse of artifacts, bounded retries, failure, and the
reaper's requeueing of expired leases. The same code in a real worker: test_report_worker.py."""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from datetime import timedelta

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sakip.localinfra import free_ports
from services.reporting.builds import MAX_ATTEMPTS, Builder, build, claim
from services.reporting.reaper import reap
from shared.clock import now
from shared.config import Settings
from shared.db import transaction
from shared.events.models import OutboxEvent
from shared.reporting.events import REPORT_FAILED, REPORT_READY
from shared.reporting.models import Report, ReportKind, ReportState
from shared.storage import ObjectStore
from tests.world import World

YEAR = 2026


@pytest.fixture
def builder(settings: Settings, session_factory: sessionmaker[Session],
            object_store: ObjectStore, world: World) -> Builder:
    return Builder(session_factory=session_factory, store=object_store, lease_seconds=30,
                   city="Kota Uji")


def _recap(factory: sessionmaker[Session], year: int = YEAR) -> uuid.UUID:
    with transaction(factory) as session:
        report = Report(kind=ReportKind.CITY_RECAP.value, tenant_id=None, year=year)
        session.add(report)
        session.flush()
        return report.id


def _report(factory: sessionmaker[Session], report_id: uuid.UUID) -> Report:
    with factory() as session:
        report = session.get(Report, report_id)
        assert report is not None
        session.expunge(report)
        return report


def _events(factory: sessionmaker[Session], type_: str, report_id: uuid.UUID) -> list[dict]:
    with factory() as session:
        payloads = session.scalars(select(OutboxEvent.payload).where(
            OutboxEvent.type == type_)).all()
    return [p for p in payloads if p["report_id"] == str(report_id)]


def test_a_build_stores_both_artifacts_and_emits_ready_once(builder: Builder) -> None:
    # A year no other test recaps: the session's bucket holds no artifacts of these inputs.
    year = secrets.choice(range(2030, 2100))
    report_id = _recap(builder.session_factory, year)
    assert build(builder, report_id, owner="w1").state == "ready"
    report = _report(builder.session_factory, report_id)
    assert report.state == ReportState.READY
    assert report.progress == 100
    assert report.attempts == 1
    assert report.lease_owner is None
    assert report.lease_expires_at is None
    assert report.pdf_key == f"city/recaps/{year}/{report.fingerprint}.pdf"
    assert report.xlsx_key == f"city/recaps/{year}/{report.fingerprint}.xlsx"
    assert builder.store.sha256_of(report.pdf_key) == report.pdf_sha256
    assert builder.store.sha256_of(report.xlsx_key) == report.xlsx_sha256
    [ready] = _events(builder.session_factory, REPORT_READY, report_id)
    assert ready["reused"] is False
    assert ready["pdf_sha256"] == report.pdf_sha256

    # A redelivered task finds nothing to claim: no second build, no second event.
    assert build(builder, report_id, owner="w2").state == "skipped"
    assert len(_events(builder.session_factory, REPORT_READY, report_id)) == 1


def test_a_report_of_the_same_inputs_reuses_the_artifacts(builder: Builder) -> None:
    first, second = _recap(builder.session_factory), _recap(builder.session_factory)
    build(builder, first, owner="w1")
    assert build(builder, second, owner="w1").reused is True
    a, b = _report(builder.session_factory, first), _report(builder.session_factory, second)
    assert (a.fingerprint, a.pdf_key, a.xlsx_key) == (b.fingerprint, b.pdf_key, b.xlsx_key)
    # (the bucket is the test session's: other tests' recaps of that year lie beside these)
    stored = builder.store.keys(f"city/recaps/{YEAR}/{a.fingerprint}")
    assert sorted(stored) == sorted([a.pdf_key, a.xlsx_key])


def test_a_report_held_by_a_live_lease_is_not_claimed_twice(builder: Builder) -> None:
    report_id = _recap(builder.session_factory)
    assert claim(builder, report_id, owner="w1") is not None
    assert claim(builder, report_id, owner="w2") is None
    # Once the lease expired (the worker died), another worker may claim it.
    later = dataclasses.replace(builder, clock=lambda: now() + timedelta(seconds=31))
    reclaimed = claim(later, report_id, owner="w2")
    assert reclaimed is not None
    assert reclaimed.attempts == 2


def _unreachable_store(settings: Settings) -> ObjectStore:
    (port,) = free_ports(1)  # nothing listens there: every S3 call fails to connect
    return ObjectStore.from_settings(dataclasses.replace(settings, s3_endpoint=f"127.0.0.1:{port}"),
                                     timeout=1.0)


def test_a_failing_build_is_retried_with_backoff_then_fails_with_an_event(
        builder: Builder, settings: Settings) -> None:
    broken = dataclasses.replace(builder, store=_unreachable_store(settings))
    report_id = _recap(builder.session_factory)
    for attempt in range(1, MAX_ATTEMPTS):
        outcome = build(broken, report_id, owner=f"w{attempt}")
        assert outcome.state == "retry"
        assert outcome.retry_in
        report = _report(builder.session_factory, report_id)
        assert report.state == ReportState.QUEUED
        assert report.attempts == attempt
        assert "Penyimpanan berkas" in (report.error or "")
    assert build(broken, report_id, owner="last").state == "failed"
    report = _report(builder.session_factory, report_id)
    assert report.state == ReportState.FAILED
    assert report.attempts == MAX_ATTEMPTS
    [failed] = _events(builder.session_factory, REPORT_FAILED, report_id)
    assert failed["attempts"] == MAX_ATTEMPTS
    assert _events(builder.session_factory, REPORT_READY, report_id) == []


def test_the_reaper_requeues_expired_leases_and_resends_unclaimed_reports(
        builder: Builder, settings: Settings, redis_client: redis.Redis) -> None:
    running, waiting, fresh = (_recap(builder.session_factory) for _ in range(3))
    assert claim(builder, running, owner="dead-worker") is not None
    with transaction(builder.session_factory) as session:
        session.get(Report, waiting).lease_expires_at = now() - timedelta(seconds=1)

    assert reap(builder.session_factory, settings, at=now()) == [waiting]  # the live lease is kept
    requeued = reap(builder.session_factory, settings, at=now() + timedelta(seconds=31))
    assert set(requeued) == {running}  # `waiting` was just re-sent; `fresh` is not due
    report = _report(builder.session_factory, running)
    assert report.state == ReportState.QUEUED
    assert report.lease_owner is None
    # Each reaped report's task went to the broker again.
    assert redis_client.llen("reporting") >= 2
    assert _report(builder.session_factory, fresh).state == ReportState.QUEUED
    # A report requeued too often (its worker keeps dying) fails instead of looping.
    with transaction(builder.session_factory) as session:
        session.get(Report, running).attempts = MAX_ATTEMPTS
    assert build(builder, running, owner="w").state == "failed"
