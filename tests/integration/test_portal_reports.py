"""The portal's step 6 pages end to end: the browser's cookies and forms (Flask's test client)
on the intake portal, which calls the real reporting API (`reporting_server`) and workflow API
over HTTP with the signed service token; a real Celery worker builds the reports; real
PostgreSQL, Redis and S3. The team's LKE (live score, draft, finalisation, reopening), the
reports (request, progress, files, approval, return, receipts), the city recap, and who may see
and do what."""

from __future__ import annotations

import dataclasses
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from sakip.localinfra import free_ports
from services.intake.app import create_app
from services.intake.reporting_client import REFUSED_LOGIN_MESSAGE, UNREACHABLE_MESSAGE
from services.workflow.actions import close_collection
from shared.audit import AuditEntry
from shared.clock import now
from shared.config import Settings
from shared.cycles.models import Cycle, CycleStep
from shared.db import transaction
from shared.reporting.models import Evaluation, EvaluationAnswer, Report, ReportReceipt
from shared.reporting.rubric import rubric_from_dict
from tests.integration.test_portal import csrf, log_in, messages, post
from tests.reporting_worker import running_worker
from tests.reporting_world import Cell, ReportingWorld
from tests.world import World

ANSWER_NAME = re.compile(r'name="jawaban-([^"]+)"')
REPORT_PATH = re.compile(r"/laporan/([0-9a-f-]{36})$")
DONE = ("ready", "failed")


# -- helpers ---------------------------------------------------------------------------------------

def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.text


def shown_after(client: FlaskClient, response) -> str:
    """The flash messages of the page a form's redirect leads to."""
    assert response.status_code == 303, response.text
    return messages(client.get(response.headers["Location"]).text)


def to_step_six(session_factory, world: World, dinas: str = "a") -> uuid.UUID:
    """The kasubbag_program closes the dinas's collection: step 6 (evaluation) runs."""
    found = getattr(world, dinas)
    with transaction(session_factory) as session:
        close_collection(session, session.get_one(Cycle, found.cycle_id),
                         principal=found.principals["kasubbag"], at=now(),
                         reason="Rapat evaluasi dimulai.")
    with session_factory() as session:
        assert session.scalar(select(CycleStep.state).where(
            CycleStep.cycle_id == found.cycle_id, CycleStep.number == 6)) == "active"
    return found.cycle_id


def full_marks(session_factory, rubric_id: uuid.UUID) -> dict[str, str]:
    """Every criterion of the rubric answered with its best value (no consistency rule can
    break: nothing exceeds the top)."""
    from shared.reporting.models import Rubric

    with session_factory() as session:
        definition = rubric_from_dict(session.get_one(Rubric, rubric_id).definition)
    return {c.code: max(definition.scales[c.scale].items(), key=lambda kv: kv[1])[0]
            for c in definition.criteria()}


def evaluation_of(session_factory, cycle_id: uuid.UUID) -> Evaluation | None:
    with session_factory() as session:
        found = session.scalars(select(Evaluation).where(Evaluation.cycle_id == cycle_id)).first()
        if found is not None:
            session.expunge(found)
        return found


def lke_form(answers: dict[str, str], *, token: str, **fields: str | list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"csrf_token": token, **fields}
    data.update({f"jawaban-{code}": value for code, value in answers.items()})
    return data


def requested_report(client: FlaskClient, response) -> uuid.UUID:
    assert response.status_code == 303, response.text
    found = REPORT_PATH.search(response.headers["Location"])
    assert found, response.headers["Location"]
    return uuid.UUID(found.group(1))


def wait_done(client: FlaskClient, report_id: uuid.UUID, *, timeout: float = 90) -> dict:
    """Poll the progress route like the page's script until the build ends."""
    deadline = time.monotonic() + timeout
    seen: list[int] = []
    while time.monotonic() < deadline:
        status = client.get(f"/laporan/{report_id}/status",
                            headers={"Accept": "application/json"})
        assert status.status_code == 200, status.text
        body = status.get_json()
        seen.append(body["progress"])
        if body["done"]:
            assert seen == sorted(seen), seen  # the bar never goes back
            return body
        time.sleep(0.2)
    raise AssertionError(f"report {report_id} not built within {timeout} s (progress {seen})")


@pytest.fixture
def worker(settings: Settings, tmp_path: Path, world: World) -> Iterator[None]:
    with running_worker(settings, tmp_path) as process:
        yield
        assert process.process.poll() is None, process.log()


# -- the LKE ---------------------------------------------------------------------------------------

def test_the_team_scores_saves_finalises_and_reopens_the_lke(portal_app, world,
                                                               session_factory):
    cycle_id = to_step_six(session_factory, world)
    tim = log_in(portal_app, "dinas-a.tim")
    assert "Lembar Kerja Evaluasi (LKE)" in page(tim, f"/siklus/{cycle_id}")
    url = f"/siklus/{cycle_id}/lke"
    sheet = page(tim, url)
    assert "Renstra telah disusun" in sheet
    assert "Simpan draf" in sheet
    assert 'id="form-lke"' in sheet
    assert "js/lke.js" in sheet
    assert "<script>" not in sheet  # the CSP allows no inline script
    codes = ANSWER_NAME.findall(sheet)
    assert "A.1.a.1" in codes
    assert len(codes) == len(set(codes)) > 50
    rubric_id = re.search(r'name="rubrik" value="([0-9a-f-]{36})"', sheet).group(1)
    token = csrf(tim)

    # The live score: the form as it stands, scored by the reporting service, nothing saved.
    preview = tim.post(f"{url}/pratinjau", data=lke_form(
        {"A.1.a.1": "Y", "A.1.a.2": "Y"}, token=token, rubrik=rubric_id),
        headers={"Accept": "application/json", "X-CSRF-Token": token})
    assert preview.status_code == 200, preview.text
    live = preview.get_json()
    assert re.fullmatch(r"\d+,\d\d", live["total"])
    assert live["total"] != "0,00"
    assert live["answered"] == 2
    assert live["criteria"] == len(codes)
    assert live["grade"] == "D"
    assert live["scores"]["A"] == live["total"]
    assert evaluation_of(session_factory, cycle_id) is None
    broken = tim.post(f"{url}/pratinjau", data=lke_form(
        {"A.1.a.2": "T", "A.1.b.1": "A"}, token=token, rubrik=rubric_id),
        headers={"Accept": "application/json", "X-CSRF-Token": token})
    assert any("A.1.b.1" in p["message"] for p in broken.get_json()["problems"])
    unknown = tim.post(f"{url}/pratinjau", data=lke_form(
        {"A.1.a.1": "Q"}, token=token, rubrik=rubric_id),
        headers={"Accept": "application/json", "X-CSRF-Token": token})
    assert unknown.status_code == 422
    assert "A.1.a.1" in str(unknown.get_json())
    assert tim.post(f"{url}/pratinjau", data={"jawaban-A.1.a.1": "Y"},
                    headers={"Accept": "application/json"}).status_code == 400  # no CSRF

    # Simpan draf: the first save names the rubric; an unchanged form changes nothing.
    saved = tim.post(url, data=lke_form(
        {"A.1.a.1": "Y", "A.1.a.3": "A"}, token=token, rubrik=rubric_id,
        **{"catatan-A.1.a.1": "Renstra 2025-2029 ditetapkan.", "temuan": "Indikator <b>kabur</b>.",
           "rekomendasi": "Perbaiki IKU."}))
    shown = shown_after(tim, saved)
    assert "Draf LKE tersimpan (revisi 1)" in shown
    stored = evaluation_of(session_factory, cycle_id)
    assert stored is not None
    assert stored.state == "draft"
    assert stored.revision == 1
    again = page(tim, url)
    assert re.search(r'<option value="Y" selected>', again)
    assert "Renstra 2025-2029 ditetapkan." in again
    assert "Indikator &lt;b&gt;kabur&lt;/b&gt;." in again  # escaped, never markup
    assert 'name="rubrik"' not in again  # fixed from now on
    unchanged = tim.post(url, data=lke_form(
        {"A.1.a.1": "Y", "A.1.a.3": "A"}, token=token,
        **{"catatan-A.1.a.1": "Renstra 2025-2029 ditetapkan.", "temuan": "Indikator <b>kabur</b>.",
           "rekomendasi": "Perbaiki IKU."}))
    assert "Tidak ada perubahan" in shown_after(tim, unchanged)
    assert evaluation_of(session_factory, cycle_id).revision == 1

    # Finalisasi: the box must be ticked; an incomplete LKE is refused with what is missing.
    unticked = post(tim, f"{url}/finalisasi", token)
    assert "Centang pernyataan" in shown_after(tim, unticked)
    incomplete = post(tim, f"{url}/finalisasi", token, yakin="ya")
    shown = shown_after(tim, incomplete)
    assert "A.1.a.4" in shown  # an unanswered criterion, named
    assert evaluation_of(session_factory, cycle_id).state == "draft"
    answers = full_marks(session_factory, uuid.UUID(rubric_id))
    completed = tim.post(url, data=lke_form(  # the whole form, as the browser sends it
        answers, token=token, temuan="Indikator kabur.", rekomendasi="Perbaiki IKU.",
        **{"catatan-A.1.a.1": "Renstra 2025-2029 ditetapkan."}))
    assert "Draf LKE tersimpan (revisi 2). Nilai sementara 100,00 (AA)." in shown_after(
        tim, completed)
    finalised = post(tim, f"{url}/finalisasi", token, yakin="ya")
    assert "LKE difinalisasi dan dikunci. Nilai akhir 100,00 (AA - Sangat Memuaskan)." in \
        shown_after(tim, finalised)
    locked = page(tim, url)
    assert 'id="form-lke"' not in locked
    assert "Buka kembali" in locked
    assert "Final" in locked

    # The kepala_dinas reads it; the team reopens it with a reason.
    kepala = log_in(portal_app, "dinas-a.kepala")
    read = page(kepala, url)
    assert "Renstra 2025-2029 ditetapkan." in read
    assert 'id="form-lke"' not in read
    assert "Buka kembali" not in read
    assert post(kepala, url, csrf(kepala), **{"jawaban-A.1.a.1": "T"}).status_code == 403
    no_reason = post(tim, f"{url}/buka-kembali", token, alasan="")
    assert "Alasan" in shown_after(tim, no_reason)
    reopened = post(tim, f"{url}/buka-kembali", token, alasan="Bukti A.1.a.1 diperiksa ulang.")
    assert "LKE dibuka kembali sebagai draf." in shown_after(tim, reopened)
    assert evaluation_of(session_factory, cycle_id).state == "draft"
    assert 'id="form-lke"' in page(tim, url)


def test_before_step_six_the_team_waits_and_others_read_nothing_yet(portal_app, world):
    tim = log_in(portal_app, "dinas-a.tim")
    waiting = page(tim, f"/siklus/{world.a.cycle_id}/lke")
    assert "LKE dapat diisi setelah pengumpulan data (langkah 5) selesai" in waiting
    assert 'id="form-lke"' not in waiting
    inspektur = log_in(portal_app, "kota.inspektur")
    assert "Tim evaluasi belum mengisi LKE" in page(inspektur, f"/siklus/{world.a.cycle_id}/lke")


# -- reports ---------------------------------------------------------------------------------------

def finalise_full_marks(client: FlaskClient, session_factory, cycle_id: uuid.UUID,
                        token: str) -> None:
    url = f"/siklus/{cycle_id}/lke"
    sheet = page(client, url)
    rubric = re.search(r'name="rubrik" value="([0-9a-f-]{36})"', sheet)
    if rubric is not None:  # a new LKE
        answers = full_marks(session_factory, uuid.UUID(rubric.group(1)))
        shown_after(client, client.post(url, data=lke_form(
            answers, token=token, rubrik=rubric.group(1), temuan="Cukup.")))
    finalised = post(client, f"{url}/finalisasi", token, yakin="ya")
    assert "LKE difinalisasi" in shown_after(client, finalised)


def test_a_report_is_built_returned_rebuilt_approved_and_acknowledged(
        portal_app, world, session_factory, worker):
    cycle_id = to_step_six(session_factory, world)
    tim = log_in(portal_app, "dinas-a.tim")
    token = csrf(tim)
    finalise_full_marks(tim, session_factory, cycle_id, token)

    listing = page(tim, f"/siklus/{cycle_id}/laporan")
    assert "Minta laporan" in listing
    assert "Final" in listing
    requested = post(tim, f"/siklus/{cycle_id}/laporan", token)
    report_id = requested_report(tim, requested)
    first = tim.get(requested.headers["Location"])
    assert "Permintaan laporan diterima" in messages(first.text)
    assert f'data-report-status-url="/laporan/{report_id}/status"' in first.text
    assert "<progress" in first.text
    assert "js/report_progress.js" in first.text

    status = wait_done(tim, report_id)
    assert status["state"] == "ready", status
    assert status["progress"] == 100
    assert status["files"]["pdf"].endswith("B")
    ready = page(tim, f"/laporan/{report_id}")
    assert "Siap diunduh" in ready
    assert "Unduh PDF" in ready
    assert "Unduh XLSX" in ready
    assert f'id="form-approve-{report_id}"' not in ready  # the team does not decide
    download = tim.get(f"/laporan/{report_id}/unduh/pdf")
    assert download.status_code == 302
    with urllib.request.urlopen(download.headers["Location"], timeout=10) as got:  # noqa: S310
        assert got.read(5) == b"%PDF-"
    assert tim.get(f"/laporan/{report_id}/unduh/docx").status_code == 404

    # The kepala_dinas returns it with a reason: the LKE is a draft again.
    kepala = log_in(portal_app, "dinas-a.kepala")
    deciding = page(kepala, f"/siklus/{cycle_id}/laporan")
    assert f'id="form-approve-{report_id}"' in deciding
    assert f'id="form-return-{report_id}"' in deciding
    no_reason = post(kepala, f"/laporan/{report_id}/kembalikan", csrf(kepala), alasan="")
    assert "Alasan" in shown_after(kepala, no_reason)
    returned = post(kepala, f"/laporan/{report_id}/kembalikan", csrf(kepala),
                    alasan="Temuan Bidang 2 belum dibahas.")
    assert "Laporan dikembalikan kepada tim evaluasi" in shown_after(kepala, returned)
    assert "Temuan Bidang 2 belum dibahas." in page(kepala, f"/laporan/{report_id}")
    assert evaluation_of(session_factory, cycle_id).state == "draft"

    # The team finalises again and asks for a new report; the kepala_dinas approves it.
    finalise_full_marks(tim, session_factory, cycle_id, token)
    second = requested_report(tim, post(tim, f"/siklus/{cycle_id}/laporan", token))
    assert wait_done(tim, second)["state"] == "ready"
    approved = post(kepala, f"/laporan/{second}/setujui", csrf(kepala))
    assert "Laporan disetujui, diarsipkan" in shown_after(kepala, approved)
    after = page(kepala, f"/laporan/{second}")
    assert "Disetujui Kepala Dinas" in after
    assert "tidak dapat diubah" in after
    assert "Belum ada tanda terima." in after
    assert f'id="form-approve-{second}"' not in after
    twice = post(kepala, f"/laporan/{second}/setujui", csrf(kepala))
    assert "Laporan ini sudah disetujui." in shown_after(kepala, twice)

    # The city acknowledges receipt, once per person.
    inspektur = log_in(portal_app, "kota.inspektur")
    assert "Konfirmasi diterima" in page(inspektur, f"/laporan/{second}")
    assert "Konfirmasi diterima" not in page(inspektur, f"/laporan/{report_id}")
    acknowledged = post(inspektur, f"/laporan/{second}/konfirmasi", csrf(inspektur))
    assert "Penerimaan laporan sudah dikonfirmasi." in shown_after(inspektur, acknowledged)
    post(inspektur, f"/laporan/{second}/konfirmasi", csrf(inspektur))
    assert "Inspektur · Pengguna inspektur: diterima" in page(inspektur, f"/laporan/{second}")
    with session_factory() as session:
        assert len(session.scalars(select(ReportReceipt).where(
            ReportReceipt.report_id == second)).all()) == 1
        assert session.scalars(select(AuditEntry).where(
            AuditEntry.action == "report.downloaded")).first() is not None


# -- the city recap ------------------------------------------------------------------------------

def test_the_city_requests_a_recap_of_a_year(portal_app, world, session_factory, worker):
    inspektur = log_in(portal_app, "kota.inspektur")
    home = page(inspektur, "/rekap")
    assert "Rekap kota" in home
    assert "Minta rekap" in home
    requested = post(inspektur, "/rekap", csrf(inspektur), tahun="2026")
    report_id = requested_report(inspektur, requested)
    assert "Permintaan rekap 2026 diterima" in messages(
        inspektur.get(requested.headers["Location"]).text)
    assert wait_done(inspektur, report_id)["state"] == "ready"
    listing = page(inspektur, "/rekap?tahun=2026")
    assert str(report_id) in listing
    assert "Unduh XLSX" in listing
    assert str(report_id) not in page(inspektur, "/rekap?tahun=2025")
    bad_year = post(inspektur, "/rekap", csrf(inspektur), tahun="1800")
    assert "Tahun" in shown_after(inspektur, bad_year)
    kepala = log_in(portal_app, "dinas-a.kepala")
    assert "Rekap kota" not in page(kepala, "/")
    assert kepala.get("/rekap").status_code == 403
    assert kepala.get(f"/laporan/{report_id}").status_code == 404


# -- who sees and does what ------------------------------------------------------------------------

def test_another_dinas_sees_nothing_of_the_lke_and_the_reports(portal_app, world,
                                                               session_factory):
    cycle_id = to_step_six(session_factory, world)
    tim = log_in(portal_app, "dinas-a.tim")
    requested = post(tim, f"/siklus/{cycle_id}/laporan", csrf(tim))
    report_id = requested_report(tim, requested)  # queued: no worker in this test
    queued = page(tim, f"/laporan/{report_id}")
    assert "Menunggu giliran" in queued
    assert 'value="0"' in queued

    other = log_in(portal_app, "dinas-b.tim")
    token = csrf(other)
    for url in (f"/siklus/{cycle_id}/lke", f"/siklus/{cycle_id}/laporan",
                f"/laporan/{report_id}", f"/laporan/{report_id}/unduh/pdf"):
        assert other.get(url).status_code == 404, url
    status = other.get(f"/laporan/{report_id}/status", headers={"Accept": "application/json"})
    assert status.status_code == 404
    assert "error" in status.get_json()
    for url, fields in ((f"/siklus/{cycle_id}/lke", {"jawaban-A.1.a.1": "Y"}),
                        (f"/siklus/{cycle_id}/lke/finalisasi", {"yakin": "ya"}),
                        (f"/siklus/{cycle_id}/lke/buka-kembali", {"alasan": "x"}),
                        (f"/siklus/{cycle_id}/laporan", {}),
                        (f"/laporan/{report_id}/setujui", {}),
                        (f"/laporan/{report_id}/kembalikan", {"alasan": "x"})):
        assert post(other, url, token, **fields).status_code == 404, url
    assert str(report_id) not in page(other, f"/siklus/{world.b.cycle_id}/laporan")


def test_wrong_roles_get_no_form_and_a_forged_post_is_refused(portal_app, world,
                                                             session_factory):
    cycle_id = to_step_six(session_factory, world)
    staff = log_in(portal_app, "dinas-a.staf1")
    assert "Lembar Kerja Evaluasi" not in page(staff, f"/siklus/{cycle_id}")
    assert staff.get(f"/siklus/{cycle_id}/lke").status_code == 403
    assert post(staff, f"/siklus/{cycle_id}/laporan", csrf(staff)).status_code == 403
    kasubbag = log_in(portal_app, "dinas-a.kasubbag")
    reports = page(kasubbag, f"/siklus/{cycle_id}/laporan")
    assert "Minta laporan" in reports
    assert 'id="form-lke"' not in page(kasubbag, f"/siklus/{cycle_id}/lke")
    inspektur = log_in(portal_app, "kota.inspektur")
    assert "Minta laporan" not in page(inspektur, f"/siklus/{cycle_id}/laporan")
    assert post(inspektur, f"/siklus/{cycle_id}/laporan", csrf(inspektur)).status_code == 403


def test_the_forms_need_their_csrf_token(portal_app, world, session_factory):
    cycle_id = to_step_six(session_factory, world)
    tim = log_in(portal_app, "dinas-a.tim")
    assert post(tim, f"/siklus/{cycle_id}/lke", None,
                **{"jawaban-A.1.a.1": "Y"}).status_code == 400
    assert post(tim, f"/siklus/{cycle_id}/laporan", None).status_code == 400
    assert evaluation_of(session_factory, cycle_id) is None
    with session_factory() as session:
        assert session.scalars(select(Report)).first() is None


def _portal(settings: Settings, **urls: str) -> Flask:
    return create_app(dataclasses.replace(settings, **urls))


def test_an_unreachable_reporting_service_is_a_clear_503(settings, world, object_store,
                                                         redis_client, session_factory,
                                                         workflow_server):
    (port,) = free_ports(1)
    app = _portal(settings, workflow_url=workflow_server,
                  reporting_url=f"http://127.0.0.1:{port}")
    try:
        cycle_id = to_step_six(session_factory, world)
        tim = log_in(app, "dinas-a.tim")
        response = tim.get(f"/siklus/{cycle_id}/lke")
        assert response.status_code == 503
        assert UNREACHABLE_MESSAGE in response.text
        assert tim.get(f"/siklus/{cycle_id}").status_code == 200  # the cycle page still works
        refused = post(tim, f"/siklus/{cycle_id}/laporan", csrf(tim))
        assert UNREACHABLE_MESSAGE in shown_after(tim, refused)
        status = tim.get(f"/laporan/{uuid.uuid4()}/status",
                         headers={"Accept": "application/json"})
        assert status.status_code == 503
        assert status.get_json()["error"]["message"] == UNREACHABLE_MESSAGE
    finally:
        app.extensions["sakip"].close()


def test_a_refused_service_token_is_a_503_for_the_administrator(settings, world,
                                                               workflow_server,
                                                               reporting_server):
    app = _portal(settings, workflow_url=workflow_server, reporting_url=reporting_server,
                  service_token_secret="y" * 40)  # not the reporting service's
    try:
        inspektur = log_in(app, "kota.inspektur")
        response = inspektur.get("/rekap")
        assert response.status_code == 503
        assert REFUSED_LOGIN_MESSAGE in response.text
    finally:
        app.extensions["sakip"].close()


# -- evidence (a cycle collected with accepted documents) -----------------------------------------

@pytest.fixture
def collected(reporting_world: ReportingWorld) -> ReportingWorld:
    """dinas-a's cycle collected with accepted documents, step 6 running (tests.reporting_world)."""
    return reporting_world


def test_the_team_cites_accepted_documents_as_evidence(portal_app, collected, session_factory):
    rw = collected
    iku = rw.accepted_version_ids[Cell("Bidang 1", "IKU")]
    renja = rw.accepted_version_ids[Cell("Bidang 2", "RENJA")]
    url = f"/siklus/{rw.cycle_id}/lke"
    tim = log_in(portal_app, "dinas-a.tim")
    sheet = page(tim, url)
    offered = set(re.findall(r'<option value="([0-9a-f-]{36})"', sheet))
    assert set(map(str, rw.accepted_version_ids.values())) <= offered
    rubric_id = re.search(r'name="rubrik" value="([0-9a-f-]{36})"', sheet).group(1)
    token = csrf(tim)
    saved = tim.post(url, data=lke_form({"A.1.a.1": "Y"}, token=token, rubrik=rubric_id, **{
        "bukti-A.1.a.1": [str(iku), str(renja)], "catatan-A.1.a.1": "Lihat IKU dan Renja."}))
    assert "Draf LKE tersimpan (revisi 1)" in shown_after(tim, saved)
    with session_factory() as session:
        (stored,) = session.scalars(select(EvaluationAnswer).where(
            EvaluationAnswer.criterion == "A.1.a.1")).all()
    assert sorted(stored.evidence) == sorted([str(iku), str(renja)])
    assert re.search(rf'<option value="{iku}" selected>', page(tim, url))

    # A document that is not an accepted version of this cycle is refused, with its words.
    stranger = uuid.uuid4()
    foreign = tim.post(url, data=lke_form({"A.1.a.1": "Y"}, token=token, **{
        "bukti-A.1.a.1": [str(iku), str(stranger)], "catatan-A.1.a.1": "Lihat IKU."}))
    assert f"Bukti {stranger} bukan dokumen yang diterima" in shown_after(tim, foreign)
    assert evaluation_of(session_factory, rw.cycle_id).revision == 1

    # The readers see which documents each answer rests on.
    kepala = log_in(portal_app, "dinas-a.kepala")
    read = page(kepala, url)
    assert "Lihat IKU dan Renja." in read
    assert "Bidang 1" in read
    assert str(iku) not in read  # shown by name, not by id
