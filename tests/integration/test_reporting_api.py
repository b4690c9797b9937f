"""The reporting REST API (/api/v1) against real PostgreSQL, Redis (the Celery broker) and
SeaweedFS: every endpoint's success and its refusals (401 no token, 403 wrong role, 404 another
dinas, 409 state, 422 bad body), the LKE's draft merge, live preview, finalisation refusals with
what is missing, reopening; reports requested (the build task sent to the broker after commit),
downloaded over HTTP, approved into the locked archive (a delete of the archived version is
refused), returned, acknowledged; the city recap; the OpenAPI document.

No worker runs here: a report the tests approve is made READY by the test itself, with real
objects put in S3 (the row a worker would write; tests/integration/test_report_worker.py builds
real ones)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import urllib.request
import uuid
from typing import Any

import pytest
from minio.commonconfig import GOVERNANCE
from minio.error import S3Error
from sqlalchemy import func, select

from sakip.seeding import placeholder_pdf
from services.intake import packages
from services.reporting.app import create_app
from services.reporting.archive import Archive, ArchiveError
from services.workflow.actions import close_collection
from services.workflow.cycles import cancel_cycle
from shared.audit import AuditEntry
from shared.clock import now
from shared.cycles.models import Cycle
from shared.db import transaction
from shared.events.models import OutboxEvent
from shared.reporting.models import Evaluation, Report, ReportState
from shared.reporting.rubric import RubricDefinition, bundled_rubrics, rubric_from_dict
from shared.storage import ObjectStore, StoredObject
from tests.integration.test_workflow_api import WorkflowApi
from tests.world import COLLECTING_AT

API = "/api/v1"
# One archive bucket for the test session (object lock: what it holds cannot be deleted, and
# SeaweedFS gives every bucket volumes of its own).
ARCHIVE_BUCKET = f"arsip-{uuid.uuid4().hex[:10]}"
XLSX_BYTES = b"PK\x03\x04 buku kerja uji"
DEFAULT_RUBRIC = "permenpanrb-12-2015"


class ReportingApi(WorkflowApi):
    """The reporting app's test client, calling as a user of the world with a personal API
    token or (kind="service") the portal's signed service token."""


@pytest.fixture
def reporting_settings(settings):
    return dataclasses.replace(settings, s3_archive_bucket=ARCHIVE_BUCKET)


@pytest.fixture
def reporting_app(reporting_settings, object_store, redis_client, world):
    application = create_app(reporting_settings)
    yield application
    application.extensions["sakip"].close()


@pytest.fixture
def rp(reporting_app, session_factory, reporting_settings):
    return ReportingApi(reporting_app, session_factory, reporting_settings)


# -- helpers (also used by test_reporting_api_isolation.py and test_lke_evaluation.py) -----------

def hand_in_and_accept(session_factory, dinas, bidang_index: int = 0) -> list[str]:
    """One Bidang hands in every document it owes and the kasubbag_program accepts them all
    (step 5, through intake's own functions); the accepted version ids."""
    staff = dinas.principals["staf1" if bidang_index == 0 else "staf2"]
    reviewer = dinas.principals["kasubbag"]
    with transaction(session_factory) as session:
        cycle = session.get_one(Cycle, dinas.cycle_id)
        package = packages.ensure_package(session, cycle=cycle,
                                          bidang_id=dinas.bidang[bidang_index])
        items = {i.document_type: i.id for i in packages.items_of(session, package)}
        versions = []
        for code, item_id in sorted(items.items()):
            digest = hashlib.sha256(f"{dinas.slug}-{bidang_index}-{code}".encode()).hexdigest()
            upload = packages.VersionInput(
                stored=StoredObject(key=f"tenants/{dinas.tenant_id}/document/{uuid.uuid4().hex}",
                                    sha256=digest, size=1234, version_id=None),
                kind="pdf", content_type="application/pdf", filename=f"{code.lower()}.pdf",
                title=f"{code} {dinas.slug}", year=2026, notes=None)
            version, _created = packages.add_version(session, principal=staff, item_id=item_id,
                                                     upload=upload, at=COLLECTING_AT)
            versions.append(str(version.id))
        packages.submit_package(session, principal=staff, package_id=package.id,
                                at=COLLECTING_AT)
        for item_id in items.values():
            packages.review_item(session, principal=reviewer, item_id=item_id,
                                 decision=packages.Decision.ACCEPT, reason=None,
                                 at=COLLECTING_AT)
    return versions


def start_step_six(session_factory, dinas) -> None:
    """The kasubbag_program closes the collection (hand-ins end here): step 5 completes, step 6
    runs."""
    with transaction(session_factory) as session:
        cycle = session.get_one(Cycle, dinas.cycle_id)
        close_collection(session, cycle, principal=dinas.principals["kasubbag"], at=now(),
                         reason="Pengumpulan ditutup untuk evaluasi.")


def default_definition() -> RubricDefinition:
    return next(d for d in bundled_rubrics() if d.code == DEFAULT_RUBRIC)


def best(definition: RubricDefinition, code: str) -> str:
    scale = definition.scales[definition.criterion(code).scale]
    return max(scale, key=lambda answer: scale[answer])


def worst(definition: RubricDefinition, code: str) -> str:
    scale = definition.scales[definition.criterion(code).scale]
    return min(scale, key=lambda answer: scale[answer])


def full_marks(definition: RubricDefinition) -> dict[str, dict[str, str]]:
    return {c.code: {"answer": best(definition, c.code)} for c in definition.criteria()}


def finalised_evaluation(rp, dinas) -> dict[str, Any]:
    """Step 6 running, every criterion answered with full marks, the LKE finalised."""
    tim = dinas.username("tim")
    saved = rp.put(f"/cycles/{dinas.cycle_id}/evaluation", as_=tim,
                   json={"answers": full_marks(default_definition()),
                         "findings": "Temuan.", "recommendations": "Rekomendasi."})
    assert saved.status_code == 200, saved.get_json()
    final = rp.post(f"/cycles/{dinas.cycle_id}/evaluation/finalise", as_=tim)
    assert final.status_code == 200, final.get_json()
    return dict(final.get_json())


def request_report(rp, dinas, as_key: str = "tim") -> dict[str, Any]:
    response = rp.post(f"/cycles/{dinas.cycle_id}/reports", as_=dinas.username(as_key))
    assert response.status_code == 202, response.get_json()
    return dict(response.get_json())


def make_ready(session_factory, store: ObjectStore, report_id,
               pdf: bytes | None = None) -> tuple[bytes, bytes]:
    """What a worker writes when it finishes: both files in S3, the row READY with their keys,
    sizes and SHA-256 (test setup of the row, not a mock of the worker)."""
    pdf = pdf if pdf is not None else placeholder_pdf(f"Laporan {report_id}")
    with transaction(session_factory) as session:
        report = session.get_one(Report, report_id)
        prefix = (f"tenants/{report.tenant_id}/cycles/{report.cycle_id}/reports"
                  if report.tenant_id else f"city/recaps/{report.year}")
        fingerprint = uuid.uuid4().hex
        for suffix, body in (("pdf", pdf), ("xlsx", XLSX_BYTES)):
            key = f"{prefix}/{fingerprint}.{suffix}"
            store.client.put_object(store.bucket, key, io.BytesIO(body), len(body))
            setattr(report, f"{suffix}_key", key)
            setattr(report, f"{suffix}_sha256", hashlib.sha256(body).hexdigest())
            setattr(report, f"{suffix}_size", len(body))
        report.state, report.progress = ReportState.READY.value, 100
        report.progress_label = "Selesai"
        report.fingerprint, report.finished_at = fingerprint, now()
        report.lease_expires_at = report.lease_owner = None
    return pdf, XLSX_BYTES


def events(session_factory, event_type: str) -> list[dict[str, Any]]:
    with session_factory() as session:
        return list(session.scalars(select(OutboxEvent.payload).where(
            OutboxEvent.type == event_type).order_by(OutboxEvent.seq)))


def audit_actions(session_factory, target_id) -> list[str]:
    with session_factory() as session:
        return list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.target_id == str(target_id)).order_by(AuditEntry.id)))


def error_of(response) -> dict[str, Any]:
    return dict(response.get_json()["error"])


# -- signing in ------------------------------------------------------------------------------------

def test_every_route_but_the_document_refuses_a_caller_without_a_token(rp, reporting_app):
    ids = {"cycle_id": str(uuid.uuid4()), "report_id": str(uuid.uuid4()),
           "rubric_id": str(uuid.uuid4()), "file_format": "pdf"}
    rules = [r for r in reporting_app.url_map.iter_rules()
             if r.rule.startswith(f"{API}/") and r.endpoint != "api.openapi"]
    assert len(rules) >= 17
    for rule in rules:
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: ids[m.group(1)], rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = rp.client.open(path, method=method)
            assert response.status_code == 401, (method, rule.rule)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert error_of(response)["message"].startswith("Silakan masuk")
    stale = rp.client.get(f"{API}/rubrics", headers={"X-Sakip-Service-Token": "palsu"})
    assert stale.status_code == 401


# -- rubrics ---------------------------------------------------------------------------------------

def test_every_signed_in_user_lists_and_reads_the_rubrics(rp, world):
    listed = rp.get("/rubrics", as_=world.a.username("staf1"))
    assert listed.status_code == 200
    rubrics = listed.get_json()
    assert {(r["code"], r["version"]) for r in rubrics} >= {(DEFAULT_RUBRIC, 1),
                                                           ("permenpanrb-88-2021", 1)}
    assert set(rubrics[0]) == {"id", "code", "version", "name", "regulation", "all_tenants",
                               "tenant_ids"}
    default = next(r for r in rubrics if r["code"] == DEFAULT_RUBRIC)
    detail = rp.get(f"/rubrics/{default['id']}", as_="kota.admin", kind="service").get_json()
    assert detail["definition"]["components"][0]["code"] == "A"
    assert rubric_from_dict(detail["definition"]) == default_definition()
    assert detail["source"]
    assert rp.get(f"/rubrics/{uuid.uuid4()}", as_="kota.admin").status_code == 404
    again = rp.get("/rubrics", as_=world.b.username("kepala")).get_json()
    assert [r["id"] for r in again] == [r["id"] for r in rubrics]  # published once


def test_the_platform_admin_imports_an_lke_workbook(rp, world, session_factory):
    from shared.reporting.workbook import export_lke_workbook

    definition = dataclasses.replace(default_definition(), code="lke-kota-uji", version=3,
                                     name="LKE uji")
    workbook = export_lke_workbook(definition)
    form = {"code": "lke-kota-uji", "version": "3", "name": "LKE uji",
            "regulation": definition.regulation, "source": definition.source}

    def send(as_, data=workbook, **fields):
        return rp.post("/rubrics/import", as_=as_, content_type="multipart/form-data",
                       data={**form, **fields, "file": (io.BytesIO(data), "lke.xlsx")})

    refused = send(world.a.username("kepala"))
    assert refused.status_code == 403
    assert "Administrator Platform" in error_of(refused)["message"]
    assert send("kota.inspektur").status_code == 403

    created = send("kota.admin")
    assert created.status_code == 201, created.get_json()
    rubric = created.get_json()
    assert (rubric["code"], rubric["version"], rubric["name"]) == ("lke-kota-uji", 3, "LKE uji")
    imported = rubric_from_dict(rubric["definition"])
    assert [c.code for c in imported.criteria()] == [c.code for c in definition.criteria()]
    assert audit_actions(session_factory, rubric["id"])  # who imported it, and when
    assert send("kota.admin").status_code == 200  # the same version again: nothing new
    clash = send("kota.admin", name="LKE uji lain")
    assert clash.status_code == 409

    not_xlsx = send("kota.admin", data=b"bukan buku kerja", version="4")
    assert not_xlsx.status_code == 422
    assert error_of(not_xlsx)["details"]
    missing = rp.post("/rubrics/import", as_="kota.admin", content_type="multipart/form-data",
                      data={"code": "x"})
    assert missing.status_code == 422
    assert {"file", "version", "name"} <= set(error_of(missing)["fields"])
    as_json = rp.post("/rubrics/import", as_="kota.admin", json={"code": "x"})
    assert as_json.status_code == 415


def test_a_workbook_with_bad_rows_is_refused_naming_each_row(rp):
    import openpyxl

    from shared.reporting.workbook import export_lke_workbook

    book = openpyxl.load_workbook(io.BytesIO(export_lke_workbook(default_definition())))
    sheet = book.worksheets[0]
    broken = False
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if cell.value in ("YT", "AE"):
                cell.value = "ZZ"  # a scale the rubric does not have
                broken = True
                break
        if broken:
            break
    assert broken
    buffer = io.BytesIO()
    book.save(buffer)
    refused = rp.post("/rubrics/import", as_="kota.admin", content_type="multipart/form-data",
                      data={"code": "lke-rusak", "version": "1", "name": "Rusak",
                            "regulation": "Peraturan", "source": "Uji",
                            "file": (io.BytesIO(buffer.getvalue()), "lke.xlsx")})
    assert refused.status_code == 422, refused.get_json()
    details = error_of(refused)["details"]
    assert any(re.match(r"Baris \d+", d) for d in details), details


# -- the LKE ---------------------------------------------------------------------------------------

def test_the_lke_is_edited_only_while_step_six_runs(rp, world, session_factory):
    cycle, tim = f"/cycles/{world.a.cycle_id}", world.a.username("tim")
    assert rp.get(f"{cycle}/evaluation", as_=tim).status_code == 404  # nothing saved yet
    early = rp.put(f"{cycle}/evaluation", as_=tim, json={"findings": "Terlalu dini."})
    assert early.status_code == 409
    assert "langkah 6" in error_of(early)["message"]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Evaluation)) == 0

    start_step_six(session_factory, world.a)
    created = rp.put(f"{cycle}/evaluation", as_=tim, kind="service",
                     json={"findings": "  Renstra belum lengkap. "})
    assert created.status_code == 200, created.get_json()
    body = created.get_json()
    assert (body["state"], body["revision"], body["findings"]) == (
        "draft", 1, "Renstra belum lengkap.")
    assert body["rubric"]["code"] == DEFAULT_RUBRIC
    assert body["score"]["total"] == "0.00"
    assert body["score"]["grade"] == "D"
    assert body["score"]["answered"] == 0
    assert body["score"]["criteria"] == len(default_definition().criteria())
    assert body["answers"] == {}
    assert audit_actions(session_factory, body["id"]) == ["evaluation.created"]


def test_a_draft_merges_only_what_each_save_names(rp, world, session_factory):
    evidence = hand_in_and_accept(session_factory, world.a)
    start_step_six(session_factory, world.a)
    cycle, tim = f"/cycles/{world.a.cycle_id}", world.a.username("tim")
    definition = default_definition()
    first, second = (c.code for c in definition.criteria()[:2])
    saved = rp.put(f"{cycle}/evaluation", as_=tim, json={
        "answers": {first: {"answer": best(definition, first), "note": "Ada Renstra.",
                            "evidence": [evidence[0]]},
                    second: {"answer": worst(definition, second)}},
        "recommendations": "Lengkapi."})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["revision"] == 1
    merged = rp.put(f"{cycle}/evaluation", as_=tim, json={
        "answers": {second: {"answer": best(definition, second)}}, "findings": "Temuan."})
    body = merged.get_json()
    assert body["revision"] == 2
    assert body["answers"][first] == {"answer": best(definition, first), "note": "Ada Renstra.",
                                      "evidence": [evidence[0]]}
    assert body["answers"][second]["answer"] == best(definition, second)
    assert (body["findings"], body["recommendations"]) == ("Temuan.", "Lengkapi.")
    assert body["score"]["answered"] == 2
    sub = next(p for c in body["score"]["components"] for p in c["parts"]
               if p["code"] == definition.subcomponent_of(first).code)
    assert sub["answered"] == 2

    cleared = rp.put(f"{cycle}/evaluation", as_=tim, json={
        "answers": {first: {"answer": None, "note": None, "evidence": []}}}).get_json()
    assert first not in cleared["answers"]
    assert cleared["revision"] == 3
    unchanged = rp.put(f"{cycle}/evaluation", as_=tim, json={"findings": "Temuan."})
    assert unchanged.get_json()["revision"] == 3  # nothing changed: nothing stored
    with session_factory() as session:
        evaluation = session.scalars(select(Evaluation)).one()
        assert (str(evaluation.total), evaluation.grade, evaluation.revision) == (
            cleared["score"]["total"], cleared["score"]["grade"], 3)
    assert audit_actions(session_factory, body["id"]) == [
        "evaluation.created", "evaluation.saved", "evaluation.saved"]


def test_a_draft_refuses_unknown_criteria_values_and_evidence_naming_them(
        rp, world, session_factory):
    own = hand_in_and_accept(session_factory, world.a)
    foreign = hand_in_and_accept(session_factory, world.b)
    start_step_six(session_factory, world.a)
    cycle, tim = f"/cycles/{world.a.cycle_id}", world.a.username("tim")
    code = default_definition().criteria()[0].code
    unknown = rp.put(f"{cycle}/evaluation", as_=tim,
                     json={"answers": {"Z.9.z.9": {"answer": "Y"}}})
    assert unknown.status_code == 422
    assert any("Z.9.z.9" in d for d in error_of(unknown)["details"])
    bad_value = rp.put(f"{cycle}/evaluation", as_=tim, json={"answers": {code: {"answer": "Q"}}})
    assert bad_value.status_code == 422
    assert any(code in d and "'Q'" in d for d in error_of(bad_value)["details"])
    not_accepted = rp.put(f"{cycle}/evaluation", as_=tim, json={
        "answers": {code: {"answer": "Y", "evidence": [own[0], foreign[0], str(uuid.uuid4())]}}})
    assert not_accepted.status_code == 422
    details = error_of(not_accepted)["details"]
    assert len(details) == 2
    assert any(foreign[0] in d for d in details)
    for body, field in (({"answers": {code: {"answer": "Y", "skor": 1}}}, "answers"),
                        ({"answers": {code: {"evidence": ["bukan-uuid"]}}}, "answers"),
                        ({"answers": ["Y"]}, "answers"), ({"findings": 12}, "findings"),
                        ({"rubric_id": "x"}, "rubric_id"), ({"warna": "merah"}, "warna")):
        response = rp.put(f"{cycle}/evaluation", as_=tim, json=body)
        assert response.status_code == 422, body
        assert field in error_of(response)["fields"], (body, response.get_json())
    assert rp.put(f"{cycle}/evaluation", as_=tim, data="x",
                  content_type="text/plain").status_code == 415
    missing_rubric = rp.put(f"{cycle}/evaluation", as_=tim, json={"rubric_id": str(uuid.uuid4())})
    assert missing_rubric.status_code == 422
    assert rp.get(f"{cycle}/evaluation", as_=tim).status_code == 404  # nothing was saved


def test_only_the_team_writes_the_lke_and_its_readers_read_it(rp, world, session_factory):
    start_step_six(session_factory, world.a)
    cycle = f"/cycles/{world.a.cycle_id}"
    assert rp.put(f"{cycle}/evaluation", as_=world.a.username("tim"), json={}).status_code == 200
    for key in ("kasubbag", "kepala", "staf1"):
        refused = rp.put(f"{cycle}/evaluation", as_=world.a.username(key), json={})
        assert refused.status_code == 403, key
        assert "Tim Evaluasi" in error_of(refused)["message"]
    for user in ("kota.organisasi", "kota.inspektur"):
        assert rp.put(f"{cycle}/evaluation", as_=user, json={}).status_code == 403
    assert rp.put(f"{cycle}/evaluation", as_=world.b.username("tim"), json={}).status_code == 404
    assert rp.put(f"{cycle}/evaluation", as_="kota.admin", json={}).status_code == 404
    for user in [world.a.username(k) for k in ("tim", "kasubbag", "kepala")] + [
            "kota.organisasi", "kota.inspektur"]:
        assert rp.get(f"{cycle}/evaluation", as_=user).status_code == 200, user
    staff = rp.get(f"{cycle}/evaluation", as_=world.a.username("staf1"))
    assert staff.status_code == 403
    assert rp.get(f"{cycle}/evaluation", as_=world.b.username("kepala")).status_code == 404
    assert rp.get(f"/cycles/{uuid.uuid4()}/evaluation", as_="kota.inspektur").status_code == 404


def test_a_broken_consistency_rule_is_saved_shown_and_blocks_finalisation(
        rp, world, session_factory):
    start_step_six(session_factory, world.a)
    definition = default_definition()
    rule = definition.rules[0]
    cycle, tim = f"/cycles/{world.a.cycle_id}", world.a.username("tim")
    answers = full_marks(definition)
    answers[rule.not_above] = {"answer": worst(definition, rule.not_above)}
    saved = rp.put(f"{cycle}/evaluation", as_=tim, json={"answers": answers})
    assert saved.status_code == 200
    problems = saved.get_json()["problems"]
    assert rule.criterion in [p["criterion"] for p in problems]
    assert any(rule.not_above in p["message"] for p in problems)
    assert saved.get_json()["answers"][rule.criterion]["answer"] == best(definition,
                                                                           rule.criterion)
    refused = rp.post(f"{cycle}/evaluation/finalise", as_=tim)
    assert refused.status_code == 409
    assert any(rule.not_above in d for d in error_of(refused)["details"])


def test_the_live_preview_scores_a_change_and_saves_nothing(rp, world, session_factory):
    start_step_six(session_factory, world.a)
    cycle, tim = f"/cycles/{world.a.cycle_id}", world.a.username("tim")
    definition = default_definition()
    before_any = rp.post(f"{cycle}/evaluation/preview", as_=tim,
                         json={"answers": full_marks(definition)})
    assert before_any.status_code == 200, before_any.get_json()
    assert before_any.get_json()["score"]["total"] == "100.00"
    assert before_any.get_json()["score"]["grade"] == "AA"
    assert before_any.get_json()["unanswered"] == []
    assert rp.get(f"{cycle}/evaluation", as_=tim).status_code == 404  # still nothing stored

    first = definition.criteria()[0].code
    rp.put(f"{cycle}/evaluation", as_=tim, json={"answers": {first: {"answer": "Y"}}})
    stored = rp.get(f"{cycle}/evaluation", as_=tim).get_json()
    preview = rp.post(f"{cycle}/evaluation/preview", as_=tim, json={
        "answers": {c.code: {"answer": best(definition, c.code)}
                    for c in definition.criteria()[1:]}})
    assert preview.get_json()["score"]["total"] == "100.00"  # the stored answer counts too
    empty = rp.post(f"{cycle}/evaluation/preview", as_=tim)
    assert empty.get_json()["score"] == stored["score"]
    assert rp.get(f"{cycle}/evaluation", as_=tim).get_json() == stored
    assert rp.post(f"{cycle}/evaluation/preview", as_=world.a.username("kepala"),
                   json={}).status_code == 403
    assert rp.post(f"{cycle}/evaluation/preview", as_=world.b.username("tim"),
                   json={}).status_code == 404
    bad = rp.post(f"{cycle}/evaluation/preview", as_=tim, json={"answers": {first: {"answer": 1}}})
    assert bad.status_code == 422
    unknown = rp.post(f"{cycle}/evaluation/preview", as_=tim,
                      json={"answers": {"X.1": {"answer": "Y"}}})
    assert unknown.status_code == 422


def test_finalising_lists_what_is_missing_then_locks_the_lke(rp, world, session_factory):
    start_step_six(session_factory, world.a)
    cycle, tim = f"/cycles/{world.a.cycle_id}", world.a.username("tim")
    definition = default_definition()
    nothing = rp.post(f"{cycle}/evaluation/finalise", as_=tim)
    assert nothing.status_code == 409
    assert "belum diisi" in error_of(nothing)["message"]
    answers = full_marks(definition)
    left_out = definition.criteria()[-1]
    del answers[left_out.code]
    rp.put(f"{cycle}/evaluation", as_=tim, json={"answers": answers})
    refused = rp.post(f"{cycle}/evaluation/finalise", as_=tim)
    assert refused.status_code == 409
    assert error_of(refused)["details"] == [
        f"Kriteria {left_out.code} belum dijawab: {left_out.text}"]
    assert rp.post(f"{cycle}/evaluation/finalise",
                   as_=world.a.username("kepala")).status_code == 403
    assert rp.post(f"{cycle}/evaluation/finalise",
                   as_=world.b.username("tim")).status_code == 404

    rp.put(f"{cycle}/evaluation", as_=tim,
           json={"answers": {left_out.code: {"answer": best(definition, left_out.code)}}})
    final = rp.post(f"{cycle}/evaluation/finalise", as_=tim)
    assert final.status_code == 200, final.get_json()
    body = final.get_json()
    assert (body["state"], body["score"]["total"], body["score"]["grade"]) == (
        "final", "100.00", "AA")
    assert body["finalised_at"] is not None
    assert body["revision"] == 3
    [event] = events(session_factory, "evaluation.finalised")
    assert (event["total"], event["grade"], event["evaluation_id"]) == ("100.00", "AA",
                                                                         body["id"])
    locked = rp.put(f"{cycle}/evaluation", as_=tim, json={"findings": "Ubah."})
    assert locked.status_code == 409
    assert "difinalisasi" in error_of(locked)["message"]
    assert rp.post(f"{cycle}/evaluation/finalise", as_=tim).status_code == 409
    with session_factory() as session:
        stored = session.scalars(select(Evaluation)).one()
        assert (str(stored.total), stored.grade) == ("100.00", "AA")


def test_the_team_reopens_a_final_lke_with_a_reason(rp, world, session_factory):
    start_step_six(session_factory, world.a)
    cycle, tim = f"/cycles/{world.a.cycle_id}", world.a.username("tim")
    rp.put(f"{cycle}/evaluation", as_=tim, json={})
    draft = rp.post(f"{cycle}/evaluation/reopen", as_=tim, json={"reason": "Ubah."})
    assert draft.status_code == 409  # a draft has nothing to reopen
    final = finalised_evaluation(rp, world.a)
    assert rp.post(f"{cycle}/evaluation/reopen", as_=tim, json={}).status_code == 422
    assert rp.post(f"{cycle}/evaluation/reopen", as_=tim,
                   json={"reason": ""}).status_code == 422
    assert rp.post(f"{cycle}/evaluation/reopen", as_=world.a.username("kepala"),
                   json={"reason": "Ubah."}).status_code == 403
    assert rp.post(f"{cycle}/evaluation/reopen", as_=world.b.username("tim"),
                   json={"reason": "Ubah."}).status_code == 404
    reopened = rp.post(f"{cycle}/evaluation/reopen", as_=tim,
                       json={"reason": "Bukti A.1 perlu diperiksa ulang."})
    assert reopened.status_code == 200, reopened.get_json()
    body = reopened.get_json()
    assert (body["state"], body["revision"], body["finalised_at"]) == (
        "draft", final["revision"] + 1, None)
    [event] = events(session_factory, "evaluation.reopened")
    assert event["reason"] == "Bukti A.1 perlu diperiksa ulang."
    assert rp.put(f"{cycle}/evaluation", as_=tim, json={"findings": "Lagi."}).status_code == 200


def test_the_evidence_of_a_cycle_is_its_accepted_documents(rp, world, session_factory):
    cycle = f"/cycles/{world.a.cycle_id}"
    assert rp.get(f"{cycle}/evidence", as_=world.a.username("tim")).get_json() == []
    accepted = hand_in_and_accept(session_factory, world.a)
    hand_in_and_accept(session_factory, world.b)
    listed = rp.get(f"{cycle}/evidence", as_=world.a.username("tim"))
    assert listed.status_code == 200
    rows = listed.get_json()
    assert sorted(r["version_id"] for r in rows) == sorted(accepted)
    assert {r["bidang"] for r in rows} == {"Bidang 1"}
    assert all(len(r["sha256"]) == 64 and r["filename"].endswith(".pdf") for r in rows)
    assert {r["document_type"] for r in rows} == {"Indikator Kinerja Utama (IKU)",
                                                  "Rencana Kerja (Renja)"}
    assert rp.get(f"{cycle}/evidence", as_="kota.inspektur").status_code == 200
    assert rp.get(f"{cycle}/evidence", as_=world.a.username("staf1")).status_code == 403
    assert rp.get(f"{cycle}/evidence", as_=world.b.username("tim")).status_code == 404


# -- reports ---------------------------------------------------------------------------------------

def test_a_report_request_is_answered_at_once_and_sent_to_the_workers(
        rp, world, session_factory, redis_client):
    start_step_six(session_factory, world.a)
    final = finalised_evaluation(rp, world.a)
    queued_before = redis_client.llen("reporting")
    response = rp.post(f"/cycles/{world.a.cycle_id}/reports", as_=world.a.username("kasubbag"),
                       kind="service")
    assert response.status_code == 202, response.get_json()
    report = response.get_json()
    assert response.headers["Location"].endswith(f"{API}/reports/{report['id']}")
    assert (report["kind"], report["state"], report["progress"], report["year"]) == (
        "cycle", "queued", 0, 2026)
    assert report["evaluation_revision"] == final["revision"]
    assert (report["files"], report["decision"], report["archived"], report["can_approve"]) == (
        None, None, False, False)
    assert redis_client.llen("reporting") == queued_before + 1  # sent once committed
    [event] = events(session_factory, "report.requested")
    assert event["report_id"] == report["id"]
    assert audit_actions(session_factory, report["id"]) == ["report.requested"]

    second = request_report(rp, world.a, "kepala")
    listed = rp.get(f"/cycles/{world.a.cycle_id}/reports", as_="kota.organisasi").get_json()
    assert [r["id"] for r in listed] == [second["id"], report["id"]]  # newest first
    one = rp.get(f"/reports/{report['id']}", as_=world.a.username("kepala"))
    assert one.status_code == 200
    assert one.get_json()["id"] == report["id"]

    assert rp.post(f"/cycles/{world.a.cycle_id}/reports",
                   as_=world.a.username("staf1")).status_code == 403
    for user in ("kota.organisasi", "kota.inspektur"):
        assert rp.post(f"/cycles/{world.a.cycle_id}/reports", as_=user).status_code == 403
    assert rp.post(f"/cycles/{world.a.cycle_id}/reports",
                   as_=world.b.username("tim")).status_code == 404
    assert rp.get(f"/cycles/{world.a.cycle_id}/reports",
                  as_=world.a.username("staf1")).status_code == 403
    assert rp.get(f"/reports/{report['id']}", as_=world.a.username("staf1")).status_code == 403
    assert rp.get(f"/reports/{report['id']}", as_=world.b.username("kepala")).status_code == 404
    assert rp.get(f"/reports/{report['id']}", as_="kota.admin").status_code == 404
    assert rp.get(f"/reports/{uuid.uuid4()}", as_=world.a.username("kepala")).status_code == 404


def test_a_cancelled_cycle_gets_no_report(rp, world, session_factory):
    with transaction(session_factory) as session:
        cycle = session.get_one(Cycle, world.a.cycle_id)
        cancel_cycle(session, cycle, at=now(), principal=world.a.principals["kepala"],
                     reason="Salah buka.")
    refused = rp.post(f"/cycles/{world.a.cycle_id}/reports", as_=world.a.username("kepala"))
    assert refused.status_code == 409
    assert "dibatalkan" in error_of(refused)["message"]


def test_the_files_of_a_ready_report_download_through_a_short_lived_link(
        rp, world, session_factory, object_store):
    start_step_six(session_factory, world.a)
    report = request_report(rp, world.a)
    kepala = world.a.username("kepala")
    not_ready = rp.get(f"/reports/{report['id']}/files/pdf", as_=kepala)
    assert not_ready.status_code == 404
    pdf, xlsx = make_ready(session_factory, object_store, report["id"])
    ready = rp.get(f"/reports/{report['id']}", as_=kepala).get_json()
    assert ready["files"] == {
        "pdf": {"size": len(pdf), "sha256": hashlib.sha256(pdf).hexdigest()},
        "xlsx": {"size": len(xlsx), "sha256": hashlib.sha256(xlsx).hexdigest()}}
    for file_format, body in (("pdf", pdf), ("xlsx", xlsx)):
        link = rp.get(f"/reports/{report['id']}/files/{file_format}", as_="kota.inspektur")
        assert link.status_code == 200, link.get_json()
        answer = link.get_json()
        assert answer["filename"] == f"laporan-evaluasi-sakip-2026-dinas-a.{file_format}"
        assert answer["expires_at"]
        with urllib.request.urlopen(answer["url"], timeout=10) as fetched:  # noqa: S310
            assert hashlib.sha256(fetched.read()).hexdigest() == hashlib.sha256(body).hexdigest()
            assert "laporan-evaluasi-sakip-2026-dinas-a" in fetched.headers[
                "Content-Disposition"]
    assert audit_actions(session_factory, report["id"]).count("report.downloaded") == 2
    assert rp.get(f"/reports/{report['id']}/files/pdf",
                  as_=world.b.username("kepala")).status_code == 404
    assert rp.get(f"/reports/{report['id']}/files/pdf",
                  as_=world.a.username("staf1")).status_code == 403
    assert rp.get(f"/reports/{report['id']}/files/docx", as_=kepala).status_code == 404


def test_the_kepala_dinas_approves_a_ready_report_into_the_locked_archive(
        rp, world, session_factory, object_store, reporting_settings):
    start_step_six(session_factory, world.a)
    finalised_evaluation(rp, world.a)
    report = request_report(rp, world.a)
    kepala = world.a.username("kepala")
    path = f"/reports/{report['id']}/approve"
    not_ready = rp.post(path, as_=kepala)
    assert not_ready.status_code == 409
    assert error_of(not_ready)["details"] == ["Laporan belum selesai dibuat."]
    pdf, _xlsx = make_ready(session_factory, object_store, report["id"])
    assert rp.get(f"/reports/{report['id']}", as_=kepala).get_json()["can_approve"] is True
    assert rp.get(f"/reports/{report['id']}",
                  as_=world.a.username("tim")).get_json()["can_approve"] is False
    for key in ("tim", "kasubbag"):
        assert rp.post(path, as_=world.a.username(key)).status_code == 403, key
    assert rp.post(path, as_="kota.inspektur").status_code == 403
    assert rp.post(path, as_=world.b.username("kepala")).status_code == 404

    approved = rp.post(path, as_=kepala, kind="service")
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert (body["decision"], body["archived"], body["can_approve"]) == ("approved", True, False)
    with session_factory() as session:
        row = session.get_one(Report, uuid.UUID(report["id"]))
        key, version = row.archive_key, row.archive_version_id
    archive = Archive.from_settings(reporting_settings)
    stored = archive.client.get_object(ARCHIVE_BUCKET, key, version_id=version)
    try:
        assert hashlib.sha256(stored.read()).hexdigest() == hashlib.sha256(pdf).hexdigest()
    finally:
        stored.close()
        stored.release_conn()
    held = archive.retention(key, version)
    assert held is not None
    assert held.mode == GOVERNANCE
    assert (held.retain_until_date - now()).days >= reporting_settings.archive_retention_days - 1
    with pytest.raises(S3Error) as refused:
        archive.client.remove_object(ARCHIVE_BUCKET, key, version_id=version)
    assert refused.value.code == "AccessDenied"
    archive.client.remove_object(ARCHIVE_BUCKET, key)  # a plain delete: only a delete marker
    archive.client.put_object(ARCHIVE_BUCKET, key, io.BytesIO(b"palsu"), 5)  # a newer version
    assert archive.client.stat_object(ARCHIVE_BUCKET, key, version_id=version).size == len(pdf)

    [event] = events(session_factory, "report.approved")
    assert (event["report_id"], event["archive_key"], event["pdf_sha256"]) == (
        report["id"], key, hashlib.sha256(pdf).hexdigest())
    again = rp.post(path, as_=kepala)
    assert again.status_code == 409
    assert error_of(again)["details"] == ["Laporan ini sudah disetujui."]
    reopen = rp.post(f"/cycles/{world.a.cycle_id}/evaluation/reopen",
                     as_=world.a.username("tim"), json={"reason": "Ubah."})
    assert reopen.status_code == 409
    assert "disetujui" in error_of(reopen)["message"]
    assert rp.post(f"/reports/{report['id']}/return", as_=kepala,
                   json={"reason": "Ubah."}).status_code == 409


def test_an_archive_without_object_lock_refuses_the_approval_and_nothing_changes(
        world, session_factory, object_store, settings, redis_client):
    # The working bucket as the archive: versioned, but without object lock.
    unlocked_settings = dataclasses.replace(settings, s3_archive_bucket=settings.s3_bucket)
    with pytest.raises(ArchiveError, match="without object lock"):
        Archive.from_settings(unlocked_settings).ensure_bucket()
    unlocked = create_app(unlocked_settings)
    try:
        rp = ReportingApi(unlocked, session_factory, unlocked_settings)
        start_step_six(session_factory, world.a)
        finalised_evaluation(rp, world.a)
        report = request_report(rp, world.a)
        make_ready(session_factory, object_store, report["id"])
        refused = rp.post(f"/reports/{report['id']}/approve", as_=world.a.username("kepala"))
        assert refused.status_code == 503
        assert "Arsip laporan" in error_of(refused)["message"]
        after = rp.get(f"/reports/{report['id']}", as_=world.a.username("kepala")).get_json()
        assert (after["decision"], after["archived"], after["can_approve"]) == (
            None, False, True)
        assert events(session_factory, "report.approved") == []
    finally:
        unlocked.extensions["sakip"].close()


def test_only_a_report_of_the_current_final_lke_is_approved(
        rp, world, session_factory, object_store):
    start_step_six(session_factory, world.a)
    tim, kepala = world.a.username("tim"), world.a.username("kepala")
    rp.put(f"/cycles/{world.a.cycle_id}/evaluation", as_=tim, json={})
    of_draft = request_report(rp, world.a)
    make_ready(session_factory, object_store, of_draft["id"])
    refused = rp.post(f"/reports/{of_draft['id']}/approve", as_=kepala)
    assert refused.status_code == 409
    assert error_of(refused)["details"] == ["LKE siklus ini belum difinalisasi tim evaluasi."]
    finalised_evaluation(rp, world.a)
    stale = rp.post(f"/reports/{of_draft['id']}/approve", as_=kepala)
    assert stale.status_code == 409
    assert "minta laporan baru" in error_of(stale)["details"][0]


def test_a_returned_report_sends_the_lke_back_to_the_team(
        rp, world, session_factory, object_store):
    start_step_six(session_factory, world.a)
    final = finalised_evaluation(rp, world.a)
    report = request_report(rp, world.a)
    kepala, path = world.a.username("kepala"), f"/reports/{report['id']}/return"
    assert rp.post(path, as_=kepala, json={"reason": "Belum siap."}).status_code == 409
    make_ready(session_factory, object_store, report["id"])
    assert rp.post(path, as_=kepala, json={}).status_code == 422
    assert rp.post(path, as_=kepala, json={"reason": "   "}).status_code == 422
    assert rp.post(path, as_=world.a.username("tim"),
                   json={"reason": "x"}).status_code == 403
    assert rp.post(path, as_=world.b.username("kepala"),
                   json={"reason": "x"}).status_code == 404
    returned = rp.post(path, as_=kepala, json={"reason": "Temuan C belum didukung bukti."})
    assert returned.status_code == 200, returned.get_json()
    body = returned.get_json()
    assert (body["decision"], body["decision_reason"]) == ("returned",
                                                          "Temuan C belum didukung bukti.")
    evaluation = rp.get(f"/cycles/{world.a.cycle_id}/evaluation", as_=kepala).get_json()
    assert (evaluation["state"], evaluation["revision"]) == ("draft", final["revision"] + 1)
    [returned_event] = events(session_factory, "report.returned")
    assert returned_event["reason"] == "Temuan C belum didukung bukti."
    [reopened] = events(session_factory, "evaluation.reopened")
    assert "Temuan C" in reopened["reason"]
    assert rp.post(path, as_=kepala, json={"reason": "Lagi."}).status_code == 409
    assert rp.post(f"/reports/{report['id']}/approve", as_=kepala).status_code == 409


def test_the_city_acknowledges_an_approved_report_once_per_user(
        rp, world, session_factory, object_store):
    start_step_six(session_factory, world.a)
    finalised_evaluation(rp, world.a)
    report = request_report(rp, world.a)
    path = f"/reports/{report['id']}/acknowledge"
    make_ready(session_factory, object_store, report["id"])
    early = rp.post(path, as_="kota.organisasi")
    assert early.status_code == 409
    assert rp.post(f"/reports/{report['id']}/approve",
                   as_=world.a.username("kepala")).status_code == 200
    assert rp.post(path, as_=world.a.username("kepala")).status_code == 403
    assert rp.post(path, as_="kota.admin").status_code == 404
    first = rp.post(path, as_="kota.organisasi")
    assert first.status_code == 201, first.get_json()
    receipt = first.get_json()
    assert (receipt["role"], receipt["user"]) == ("bagian_organisasi", "Pengguna organisasi")
    repeat = rp.post(path, as_="kota.organisasi", kind="service")
    assert repeat.status_code == 200
    assert repeat.get_json() == receipt
    assert rp.post(path, as_="kota.inspektur").status_code == 201
    shown = rp.get(f"/reports/{report['id']}", as_=world.a.username("kepala")).get_json()
    assert [(r["role"], r["user"]) for r in shown["receipts"]] == [
        ("bagian_organisasi", "Pengguna organisasi"), ("inspektur", "Pengguna inspektur")]
    assert len(events(session_factory, "report.acknowledged")) == 2


# -- the city recap --------------------------------------------------------------------------------

def test_the_city_recap_is_requested_and_seen_by_the_city_read_roles_only(
        rp, world, session_factory, redis_client):
    refused = rp.post("/recaps", as_=world.a.username("kepala"), json={"year": 2026})
    assert refused.status_code == 403
    assert rp.post("/recaps", as_="kota.admin", json={"year": 2026}).status_code == 403
    for body in ({}, {"year": 1999}, {"year": "dua ribu"}, {"year": 2026, "x": 1}):
        assert rp.post("/recaps", as_="kota.organisasi", json=body).status_code == 422, body
    queued = redis_client.llen("reporting")
    requested = rp.post("/recaps", as_="kota.organisasi", json={"year": 2026})
    assert requested.status_code == 202, requested.get_json()
    recap = requested.get_json()
    assert (recap["kind"], recap["tenant_id"], recap["cycle_id"], recap["year"]) == (
        "city_recap", None, None, 2026)
    assert requested.headers["Location"].endswith(f"/reports/{recap['id']}")
    assert redis_client.llen("reporting") == queued + 1
    older = rp.post("/recaps", as_="kota.inspektur", json={"year": 2025}).get_json()
    assert [r["id"] for r in rp.get("/recaps", as_="kota.inspektur").get_json()] == [
        older["id"], recap["id"]]
    by_year = rp.get("/recaps", as_="kota.inspektur", query_string={"year": 2026}).get_json()
    assert [r["id"] for r in by_year] == [recap["id"]]
    assert rp.get("/recaps", as_="kota.inspektur",
                  query_string={"year": "x"}).status_code == 422
    assert rp.get("/recaps", as_=world.a.username("kepala")).status_code == 403
    assert rp.get(f"/reports/{recap['id']}", as_="kota.organisasi").status_code == 200
    for user in (world.a.username("kepala"), world.b.username("tim"), "kota.admin"):
        assert rp.get(f"/reports/{recap['id']}", as_=user).status_code == 404, user
    assert rp.post(f"/reports/{recap['id']}/approve", as_="kota.organisasi").status_code == 409


# -- the OpenAPI document --------------------------------------------------------------------------

def test_openapi_document_covers_every_route(rp, reporting_app):
    response = rp.get("/openapi.json", as_=None)
    assert response.status_code == 200
    document = response.get_json()
    assert document["info"]["title"] == "SAKIP reporting API"
    rules = [r for r in reporting_app.url_map.iter_rules() if r.rule.startswith(f"{API}/")]
    assert {r.endpoint.split(".")[0] for r in rules} == {"api", "evaluation", "reports"}
    for rule in rules:
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        assert path in document["paths"], rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            assert operation["summary"], (rule.rule, method)
            assert operation["responses"], (rule.rule, method)
    put = document["paths"][f"{API}/cycles/{{cycle_id}}/evaluation"]["put"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(put["responses"])
    listed = document["paths"][f"{API}/rubrics"]["get"]["responses"]["200"]
    assert listed["content"]["application/json"]["schema"]["type"] == "array"
    score = document["components"]["schemas"]["Score"]["properties"]
    assert score["total"]["type"] == "string"
