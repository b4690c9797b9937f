"""Reports built by a real Celery worker (subprocess, prefork pool, the test session's Redis as
broker, PostgreSQL, S3): requested through the reporting API, built from a cycle seeded through
the collection, the PDF opened with pypdf and the XLSX read back with openpyxl; and a worker
killed mid-build (SIGKILL) whose report another worker completes, once."""

from __future__ import annotations

import io
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from services.reporting.app import create_app
from shared.config import Settings
from shared.events.models import OutboxEvent
from shared.reporting.events import REPORT_READY
from shared.reporting.models import Report, ReportState
from shared.storage import ObjectStore
from tests.reporting_worker import running_worker
from tests.reporting_world import ReportingWorld
from tests.workflow_client import WorkflowApi


@pytest.fixture
def api(settings: Settings) -> Iterator[WorkflowApi]:
    app = create_app(settings)
    yield WorkflowApi(app.test_client(), settings.service_token_secret)
    app.extensions["sakip"].close()


def _wait(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


def _state(factory: sessionmaker[Session], report_id: uuid.UUID) -> Report:
    with factory() as session:
        report = session.get(Report, report_id)
        assert report is not None
        session.expunge(report)
        return report


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        return str(response.read().decode())


def _scraped_with(url: str, needle: str) -> str:
    text = _scrape(url)
    return text if needle in text else ""


def _download(api: WorkflowApi, report_id: str, fmt: str, principal: Any) -> bytes:
    response = api.get(f"/api/v1/reports/{report_id}/files/{fmt}", principal)
    assert response.status_code == 200, response.get_json()
    with urllib.request.urlopen(response.get_json()["url"], timeout=10) as fetched:  # noqa: S310
        return bytes(fetched.read())


def _fill_lke(api: WorkflowApi, rw: ReportingWorld) -> dict[str, Any]:
    """The team answers every criterion (values from the rubric's scales) and finalises."""
    cycle, tim = rw.cycle_id, rw.dinas.principals["tim"]
    rubric = api.get(f"/api/v1/rubrics/{rw.rubric_id}", tim).get_json()
    answers = {}
    for component in rubric["definition"]["components"]:
        for part in component["subcomponents"]:
            for criterion in part["criteria"]:
                scale = rubric["definition"]["scales"][criterion["scale"]]
                best = max(scale, key=lambda answer: Decimal(str(scale[answer])))  # Y or A
                answers[criterion["code"]] = {"answer": best}
    saved = api.put(f"/api/v1/cycles/{cycle}/evaluation", tim, json={
        "rubric_id": rw.rubric_id, "answers": answers,
        "findings": "Renstra belum memuat indikator outcome <b>terukur</b>.",
        "recommendations": "=HYPERLINK(\"http://contoh\") Lengkapi IKU setiap Bidang."})
    assert saved.status_code == 200, saved.get_json()
    finalised = api.post(f"/api/v1/cycles/{cycle}/evaluation/finalise", tim)
    assert finalised.status_code == 200, finalised.get_json()
    return dict(finalised.get_json())


def test_a_worker_builds_the_cycle_report_end_to_end(
        api: WorkflowApi, settings: Settings, session_factory: sessionmaker[Session],
        reporting_world: ReportingWorld, tmp_path: Path) -> None:
    rw, kepala = reporting_world, reporting_world.dinas.principals["kepala"]
    evaluation = _fill_lke(api, rw)
    with running_worker(settings, tmp_path) as worker:
        requested = api.post(f"/api/v1/cycles/{rw.cycle_id}/reports",
                             rw.dinas.principals["tim"])
        assert requested.status_code == 202, requested.get_json()
        report_id = requested.get_json()["id"]
        assert requested.headers["Location"].endswith(f"/api/v1/reports/{report_id}")
        ready = _wait(lambda: (r := api.get(f"/api/v1/reports/{report_id}", kepala).get_json())
                      ["state"] in {"ready", "failed"} and r, timeout=60, what="the build")
        assert ready["state"] == "ready", (ready, worker.log())
        assert ready["progress"] == 100
        # The prefork child's samples reach the worker's own /metrics (multiprocess mode).
        scraped = _wait(lambda: _scraped_with(worker.metrics_url, 'task="reporting.build_report"'),
                        timeout=10, what="the task's metrics")
        assert 'sakip_celery_tasks_total{outcome="succeeded",task="reporting.build_report"}' \
            in scraped
        assert 'sakip_report_build_duration_seconds_count{kind="cycle"} 1.0' in scraped

    pdf_text = "\n".join(page.extract_text() for page in
                         PdfReader(io.BytesIO(_download(api, report_id, "pdf", kepala))).pages)
    total, grade = evaluation["score"]["total"], evaluation["score"]["grade"]
    assert rw.dinas_name in pdf_text
    assert total.replace(".", ",") in pdf_text  # "100,00": Indonesian decimals
    assert grade in pdf_text
    assert "Terlambat" in pdf_text  # the seeded late submission
    assert rw.late_bidang in pdf_text
    assert rw.accepted_sha256 in pdf_text.replace("\n", "")
    assert "<b>terukur</b>" in pdf_text  # user text shown literally, never as markup

    workbook = openpyxl.load_workbook(io.BytesIO(_download(api, report_id, "xlsx", kepala)))
    cells = [c.value for sheet in workbook.worksheets for row in sheet.iter_rows()
             for c in row if c.value is not None]
    assert float(total) in [float(v) for v in cells if isinstance(v, int | float)]
    assert grade in cells
    assert rw.accepted_sha256 in cells
    assert not any(isinstance(v, str) and v.startswith("=") for v in cells)  # no formula

    with session_factory() as session:
        ready_events = session.scalars(select(OutboxEvent.payload).where(
            OutboxEvent.type == REPORT_READY)).all()
    assert [e["report_id"] for e in ready_events] == [report_id]


@pytest.mark.slow
@pytest.mark.resilience
@pytest.mark.evidence(
    "fault",
    "A reporting worker was SIGKILLed mid-build while holding the report's lease.",
    "A second worker's reaper requeued it after the lease; it was built once, one report.ready, "
    "no partial artifact.")
def test_a_worker_killed_mid_build_has_its_report_completed_once_by_another(
        api: WorkflowApi, settings: Settings, session_factory: sessionmaker[Session],
        object_store: ObjectStore, reporting_world: ReportingWorld,
        tmp_path: Path) -> None:
    rw = reporting_world
    with running_worker(settings, tmp_path, name="first") as first:
        requested = api.post(f"/api/v1/cycles/{rw.cycle_id}/reports",
                             rw.dinas.principals["tim"])
        assert requested.status_code == 202
        report_id = uuid.UUID(requested.get_json()["id"])
        _wait(lambda: _state(session_factory, report_id).state == ReportState.RUNNING,
              timeout=30, what="the first worker's claim")
        # Hold the report's row: the worker's next progress write waits on it, so it is
        # caught mid-build (claimed, nothing finished), then the whole worker is killed.
        with session_factory() as holder, holder.begin():
            state = holder.execute(text("SELECT state FROM reports WHERE id = :id FOR UPDATE"),
                                   {"id": report_id}).scalar_one()
            assert state == ReportState.RUNNING.value, "the build finished before the kill"
            first.kill()
    held = _state(session_factory, report_id)
    assert held.state == ReportState.RUNNING  # stuck on a dead worker's lease
    assert object_store.keys(f"tenants/{rw.dinas.tenant_id}/cycles/{rw.cycle_id}/reports/") == []

    # The broker would redeliver only after its visibility timeout (an hour): the second
    # worker's reaper requeues the report once the dead lease (3 s here) expires.
    with running_worker(settings, tmp_path, name="second") as second:
        _wait(lambda: _state(session_factory, report_id).state == ReportState.READY,
              timeout=60, what=f"the rebuild\n{second.log()}")
    done = _state(session_factory, report_id)
    assert done.attempts == 2
    prefix = f"tenants/{rw.dinas.tenant_id}/cycles/{rw.cycle_id}/reports/"
    assert sorted(object_store.keys(prefix)) == sorted([done.pdf_key, done.xlsx_key])
    with session_factory() as session:
        ready_events = session.scalars(select(OutboxEvent.payload).where(
            OutboxEvent.type == REPORT_READY)).all()
    assert [e["report_id"] for e in ready_events] == [str(report_id)]
