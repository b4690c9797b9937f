"""The domain metrics move when what they count happens: scraped from the registry each process
exposes (the intake app's /metrics, the relay's, the scheduler's, the reporting worker's), with
the real PostgreSQL, Redis and S3."""

from __future__ import annotations

import io
import threading
import uuid

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.intake.upload_flow import UploadRefused, upload_document
from services.reporting.builds import Builder, build
from services.reporting.tasks import ping
from services.workflow.scheduler import run_pass
from shared.db import transaction
from shared.events import new_event
from shared.events.consumer import Consumer
from shared.events.outbox import emit
from shared.events.relay import relay_once, run_relay
from shared.metrics import collecting_registry, unregister_state_collector
from shared.metrics_events import expose_event_pipeline
from shared.metrics_reporting import expose_reporting
from shared.metrics_workflow import expose_steps
from shared.reporting.models import Report, ReportKind
from shared.web.resources import Resources
from tests.integration.test_events import APPLIED
from tests.integration.test_scheduler import DUE_AT, MINUTE
from tests.integration.test_uploads import form, item_of
from tests.samples import padded_pdf

STREAM = "test:metrics"


def sample(body: str, name: str, **labels: str) -> float:
    """The value of one sample in an exposition (0 when absent)."""
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


@pytest.fixture(autouse=True)
def _forget_collectors():
    """The state collectors hold this test's connections: unexposed when it ends."""
    yield
    for name in ("event_pipeline", "steps", "reporting"):
        unregister_state_collector(name)


def scrape() -> str:
    return generate_latest(collecting_registry()).decode()


@pytest.fixture
def res(settings, object_store):
    resources = Resources(settings)
    yield resources
    resources.close()


def test_uploads_and_rejections_are_counted_on_the_intake_metrics(app, world, res,
                                                                  session_factory):
    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    item_id = item_of(session_factory, world.a)
    body, content_type = form(padded_pdf(12_345))
    upload_document(res, world.a.principals["staf1"], item_id, body=io.BytesIO(body),
                    content_type=content_type, content_length=len(body))
    refused, refused_type = form(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200, filename="x.pdf")
    with pytest.raises(UploadRefused):
        upload_document(res, world.a.principals["staf1"], item_id, body=io.BytesIO(refused),
                        content_type=refused_type, content_length=len(refused))
    after = client.get("/metrics").get_data(as_text=True)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("sakip_uploads_total", tenant="dinas-a") == 1
    assert moved("sakip_upload_bytes_total", tenant="dinas-a") >= 12_345
    assert moved("sakip_uploads_rejected_total", reason="wrong_type") == 1
    # Labels name the dinas, never a document or user.
    assert str(item_id) not in after
    assert str(world.a.tenant_id) not in after


def test_outbox_rows_pending_then_relayed(settings, session_factory, redis_client):
    expose_event_pipeline(session_factory, redis_client, stream=STREAM)
    with transaction(session_factory) as session:
        emit(session, new_event(APPLIED, tenant_id=None, payload={"n": 1}))
    pending = scrape()
    assert sample(pending, "sakip_outbox_pending_events") >= 1
    assert sample(pending, "sakip_outbox_oldest_pending_age_seconds") >= 0
    while relay_once(session_factory, redis_client, stream=STREAM):
        pass
    Consumer(redis_client, session_factory, stream=STREAM, group="metrics-test",
             name="c1", handlers={})
    relayed = scrape()
    assert sample(relayed, "sakip_outbox_pending_events") == 0
    assert sample(relayed, "sakip_outbox_oldest_pending_age_seconds") == 0
    assert sample(relayed, "sakip_stream_consumer_lag_events", group="metrics-test") >= 1
    assert sample(relayed, "sakip_stream_pending_events", group="metrics-test") == 0
    assert "sakip_dead_letter_stream_length" in relayed


def test_the_relay_registers_its_gauges(settings, session_factory):
    stop = threading.Event()
    stop.set()  # register, then stop at once
    registered: list[str] = []
    original = collecting_registry().register

    def spy(collector):
        registered.append(type(collector).__name__)
        original(collector)

    collecting_registry().register = spy  # type: ignore[method-assign]
    try:
        run_relay(settings, stop=stop)
    finally:
        del collecting_registry().register
    assert registered == ["EventPipelineCollector"]
    assert "sakip_outbox_pending_events " not in scrape()  # unexposed once the relay stopped


def test_dead_letters_are_counted_per_group(session_factory, redis_client):
    consumer = Consumer(redis_client, session_factory, stream=STREAM, group="dlq-test",
                        name="c1", handlers={})
    before = sample(scrape(), "sakip_dead_letters_total", group="dlq-test")
    redis_client.xadd(STREAM, {"garbage": "1"})
    consumer.run_once(block_ms=0)
    body = scrape()
    assert sample(body, "sakip_dead_letters_total", group="dlq-test") == before + 1
    expose_event_pipeline(session_factory, redis_client, stream=STREAM)
    assert sample(scrape(), "sakip_dead_letter_stream_length") >= 1


def test_overdue_steps_found_by_the_scheduler(world, session_factory):
    expose_steps(session_factory)
    before = scrape()
    assert sample(before, "sakip_steps", state="active") >= 2
    assert sample(before, "sakip_steps_overdue", tenant="dinas-a", step="5") == 0
    run_pass(session_factory, at=DUE_AT + MINUTE)
    after = scrape()
    assert sample(after, "sakip_steps_overdue", tenant="dinas-a", step="5") == 1
    assert sample(after, "sakip_steps_overdue", tenant="dinas-b", step="5") == 1
    for kind in ("overdue", "escalated"):
        assert (sample(after, "sakip_step_alerts_total", kind=kind)
                - sample(before, "sakip_step_alerts_total", kind=kind)) == 2
    assert str(world.a.cycle_id) not in after


def test_a_report_build_and_tasks_are_measured(settings, world, session_factory,
                                               object_store, redis_client):
    expose_reporting(session_factory, redis_client, queue="reporting")
    with transaction(session_factory) as session:
        report = Report(kind=ReportKind.CITY_RECAP.value, tenant_id=None, year=2026)
        session.add(report)
        session.flush()
        report_id: uuid.UUID = report.id
    before = scrape()
    assert sample(before, "sakip_reports", kind="city_recap", state="queued") >= 1
    builder = Builder(session_factory=session_factory, store=object_store, lease_seconds=30,
                      city="Kota Uji")
    assert build(builder, report_id, owner="metrics-test").state == "ready"
    redis_client.rpush("reporting", "a", "b")
    ping.apply()
    after = scrape()
    assert (sample(after, "sakip_report_build_duration_seconds_count", kind="city_recap")
            - sample(before, "sakip_report_build_duration_seconds_count", kind="city_recap")) == 1
    assert sample(after, "sakip_reports", kind="city_recap", state="ready") >= 1
    assert sample(after, "sakip_celery_queue_length", queue="reporting") == 2
    assert (sample(after, "sakip_celery_tasks_total", task="reporting.ping", outcome="succeeded")
            - sample(before, "sakip_celery_tasks_total", task="reporting.ping",
                     outcome="succeeded")) == 1
    assert sample(after, "sakip_celery_task_duration_seconds_count", task="reporting.ping") >= 1
