"""The portal's LKE and report pages shaped from the reporting API's answers (pure functions):
the rubric's criteria with the stored answers, the live score in Indonesian, the LKE form read
back into the API's body (only what changed), the reports with their progress and files, which
forms each role gets, and the reporting client's reading of the error body."""

from __future__ import annotations

import uuid

import pytest

from services.intake import report_views
from services.intake.reporting_client import UNREACHABLE_MESSAGE, ReportingCallError
from services.intake.service_client import ServiceCallError, refusal
from shared.identity.principal import Principal
from shared.identity.roles import Role

TENANT = uuid.uuid4()
RUBRIC_ID = str(uuid.uuid4())
DEFINITION = {
    "code": "permenpanrb-12-2015", "version": 1, "name": "LKE AKIP 12/2015",
    "regulation": "PermenPANRB 12/2015", "source": "Lampiran",
    "scales": {"YT": {"Y": "1", "T": "0"},
               "AE": {"A": "1", "B": "0.75", "C": "0.5", "D": "0.25", "E": "0"}},
    "grades": [],
    "components": [
        {"code": "A", "name": "Perencanaan Kinerja", "weight": "30", "subcomponents": [
            {"code": "A.1.a", "group": "Renstra", "name": "Pemenuhan", "weight": "2",
             "criteria": [{"code": "A.1.a.1", "text": "Renstra telah disusun", "scale": "YT"},
                          {"code": "A.1.a.2", "text": "Tujuan berindikator", "scale": "AE",
                           "guidance": "Lihat dokumen Renstra."}]},
            {"code": "A.1.b", "name": "Kualitas", "weight": "12.5",
             "criteria": [{"code": "A.1.b.1", "text": "Kualitas tujuan", "scale": "AE"}]}]},
    ],
    "rules": [],
}
RUBRIC = {"id": RUBRIC_ID, "code": "permenpanrb-12-2015", "version": 1,
          "name": "LKE AKIP 12/2015", "definition": DEFINITION}
SCORE = {"total": "14.25", "grade": "D", "grade_label": "Sangat Kurang", "answered": 2,
         "criteria": 3, "components": [
             {"code": "A", "name": "Perencanaan Kinerja", "weight": "30", "score": "14.25",
              "parts": [{"code": "A.1.a", "score": "1.75"}, {"code": "A.1.b", "score": "12.5"}]}]}
EVALUATION = {
    "rubric": RUBRIC, "state": "draft", "revision": 3,
    "answers": {"A.1.a.1": {"answer": "Y", "note": "Ada.", "evidence": ["v1"]},
                "A.1.a.2": {"answer": "B", "note": None, "evidence": []}},
    "findings": "Temuan lama", "recommendations": None, "score": SCORE,
    "problems": [{"criterion": "A.1.b.1", "message": "Jawaban kualitas A.1.b.1 (A) tidak boleh "
                  "melebihi jawaban pemenuhan A.1.a.1 (T)."}],
    "updated_at": "2026-05-04T02:15:00+00:00", "finalised_at": None,
}


def principal(*grants: tuple[Role, uuid.UUID | None]) -> Principal:
    return Principal.of(user_id=uuid.uuid4(), username="u", bidang_id=None,
                        grants=[(r.value, t) for r, t in grants])


def form(**values: str | list[str]) -> dict[str, list[str]]:
    """A posted form as {name: [values]} (field names given as **{"jawaban-A.1.a.1": ...})."""
    return {name: v if isinstance(v, list) else [v] for name, v in values.items()}


# -- the LKE -------------------------------------------------------------------------------------

def test_the_sheet_groups_criteria_with_their_answers_and_scores_in_indonesian():
    view = report_views.lke_view(RUBRIC, EVALUATION)
    assert view.exists
    assert view.rubric_id == RUBRIC_ID
    assert view.state_label == "Draf"
    assert view.criterion_codes == ["A.1.a.1", "A.1.a.2", "A.1.b.1"]
    (component,) = view.components
    assert (component.weight, component.score) == ("30", "14,25")
    first, second = component.subcomponents
    assert (first.group, first.score, second.weight, second.score) == (
        "Renstra", "1,75", "12,5", "12,50")
    yes, graded = first.criteria
    assert [o.label for o in yes.options] == ["Y (Ya, nilai 1)", "T (Tidak, nilai 0)"]
    assert graded.options[1].label == "B (nilai 0,75)"
    assert (yes.answer, yes.note, yes.evidence, yes.dom_id) == ("Y", "Ada.", ["v1"], "k-A_1_a_1")
    assert graded.answer_label == "B (nilai 0,75)"
    assert graded.guidance == "Lihat dokumen Renstra."
    assert second.criteria[0].answer_label == "Belum dijawab"
    assert view.score is not None
    assert (view.score.total, view.score.grade, view.score.answered) == ("14,25", "D", 2)
    assert view.problems[0].criterion == "A.1.b.1"
    assert view.updated_at is not None
    assert view.updated_at.tzinfo is not None


def test_a_new_sheet_shows_the_rubric_unanswered():
    view = report_views.lke_view(RUBRIC, None)
    assert not view.exists
    assert view.state is None
    assert view.state_label == "Belum diisi"
    assert view.score is None
    assert view.revision == 0
    assert view.findings == ""
    assert report_views.lke_view(DEFINITION, None).rubric_id is None  # a bare definition


def test_the_live_score_is_indonesian_with_every_part_by_code():
    shown = report_views.preview_json({"score": SCORE, "problems": EVALUATION["problems"]})
    assert shown["total"] == "14,25"
    assert shown["grade_label"] == "Sangat Kurang"
    assert shown["scores"] == {"A": "14,25", "A.1.a": "1,75", "A.1.b": "12,50"}
    assert shown["problems"][0]["message"].startswith("Jawaban kualitas A.1.b.1")
    assert report_views.preview_json({})["total"] == "0,00"


def test_saving_sends_only_what_the_form_changed():
    view = report_views.lke_view(RUBRIC, EVALUATION)
    submitted = form(**{"jawaban-A.1.a.1": "Y", "catatan-A.1.a.1": "Ada. ",
                        "bukti-A.1.a.1": ["v1"],
                        "jawaban-A.1.a.2": "C", "jawaban-A.1.b.1": "",
                        "catatan-A.1.b.1": "Belum dinilai", "temuan": "Temuan lama",
                        "rekomendasi": "Perbaiki indikator."})
    body = report_views.draft_body(submitted, view, EVALUATION)
    assert body == {
        "answers": {"A.1.a.2": {"answer": "C", "note": None, "evidence": []},
                    "A.1.b.1": {"answer": None, "note": "Belum dinilai", "evidence": []}},
        "recommendations": "Perbaiki indikator."}
    unchanged = form(**{"jawaban-A.1.a.1": "Y", "catatan-A.1.a.1": "Ada.",
                        "bukti-A.1.a.1": ["v1"], "jawaban-A.1.a.2": "B",
                        "temuan": "Temuan lama"})
    assert report_views.draft_body(unchanged, view, EVALUATION) == {}
    cleared = report_views.draft_body(form(**{"temuan": ""}), view, EVALUATION)
    assert cleared["findings"] is None
    assert cleared["answers"]["A.1.a.1"] == {"answer": None, "note": None, "evidence": []}


def test_the_first_save_names_the_rubric():
    view = report_views.lke_view(RUBRIC, None)
    body = report_views.draft_body(form(**{"jawaban-A.1.a.1": "T"}), view, None)
    assert body == {"answers": {"A.1.a.1": {"answer": "T", "note": None, "evidence": []}},
                    "rubric_id": RUBRIC_ID}


def test_the_preview_scores_every_answer_the_form_carries():
    submitted = form(**{"csrf_token": "x", "jawaban-A.1.a.1": "Y", "jawaban-A.1.a.2": "",
                        "catatan-A.1.a.1": "n", "rubrik": RUBRIC_ID})
    assert report_views.preview_body(submitted) == {
        "answers": {"A.1.a.1": {"answer": "Y"}, "A.1.a.2": {"answer": None}},
        "rubric_id": RUBRIC_ID}


def test_the_default_rubric_is_the_latest_version_of_the_sops_one():
    rubrics = [{"id": "1", "code": "permenpanrb-12-2015", "version": 1},
               {"id": "2", "code": "permenpanrb-12-2015", "version": 2},
               {"id": "3", "code": "permenpanrb-88-2021", "version": 5}]
    pick = report_views.pick_rubric
    assert pick(rubrics, None, default_code="permenpanrb-12-2015")["id"] == "2"
    assert pick(rubrics, "3", default_code="permenpanrb-12-2015")["id"] == "3"
    assert pick(rubrics, "nope", default_code="permenpanrb-12-2015")["id"] == "2"
    assert pick(rubrics[2:], None, default_code="permenpanrb-12-2015")["id"] == "3"
    assert pick([], None, default_code="x") is None


def test_evidence_reads_as_bidang_type_and_title():
    (option,) = report_views.evidence_options([
        {"version_id": "v1", "bidang": "Bidang 1", "document_type": "IKU",
         "title": "IKU 2026", "filename": "iku.pdf", "sha256": "ab" * 32}])
    assert option.label == "Bidang 1 · IKU · IKU 2026 (iku.pdf)"
    assert report_views.evidence_options({"evidence": []}) == []


# -- who gets which form -----------------------------------------------------------------------

def test_only_the_team_edits_and_only_while_step_six_runs():
    tim = principal((Role.TIM_EVALUASI, TENANT))
    kepala = principal((Role.KEPALA_DINAS, TENANT))
    forms = report_views.lke_forms
    running = forms(tim, TENANT, cycle_active=True, step_active=True, state="draft")
    assert (running.edit, running.finalise, running.reopen) == (True, True, False)
    new = forms(tim, TENANT, cycle_active=True, step_active=True, state=None)
    assert (new.edit, new.finalise) == (True, False)
    final = forms(tim, TENANT, cycle_active=True, step_active=True, state="final")
    assert (final.edit, final.finalise, final.reopen) == (False, False, True)
    early = forms(tim, TENANT, cycle_active=True, step_active=False, state=None)
    assert (early.edit, early.waiting_for_step) == (False, True)
    other = forms(tim, uuid.uuid4(), cycle_active=True, step_active=True, state="draft")
    assert not (other.edit)
    assert not (other.reopen)
    assert not forms(kepala, TENANT, cycle_active=True, step_active=True, state="draft").edit


def test_the_cycle_links_and_the_recap_follow_the_readers():
    links = report_views.cycle_links
    assert links(principal((Role.KASUBBAG_PROGRAM, TENANT)), TENANT).lke
    assert links(principal((Role.INSPEKTUR, None)), TENANT).reports
    assert not links(principal((Role.BIDANG_STAFF, TENANT)), TENANT).lke
    assert not links(principal((Role.PLATFORM_ADMIN, None)), TENANT).lke
    assert report_views.can_see_recaps(principal((Role.BAGIAN_ORGANISASI, None)))
    assert not report_views.can_see_recaps(principal((Role.KEPALA_DINAS, TENANT)))


# -- reports -------------------------------------------------------------------------------------

def report(**changes: object) -> dict:
    base = {"id": str(uuid.uuid4()), "kind": "cycle", "cycle_id": str(uuid.uuid4()),
            "tenant_id": str(TENANT), "year": 2026, "state": "running", "progress": 40,
            "progress_label": "Menyusun PDF", "error": None,
            "requested_at": "2026-05-04T02:00:00+00:00", "finished_at": None, "files": None,
            "decision": None, "decision_reason": None, "decided_at": None, "archived": False,
            "receipts": [], "can_approve": False, "evaluation_revision": 4}
    return {**base, **changes}


def test_a_running_report_shows_its_progress_and_no_files():
    view = report_views.report_view(report())
    assert (view.state_label, view.progress, view.busy, view.files) == (
        "Sedang disusun", 40, True, [])
    assert [d.kind for d in view.downloads] == ["pdf", "xlsx"]
    assert report_views.progress_json(report())["done"] is False


def test_a_ready_report_offers_both_files_with_their_sizes():
    files = {"pdf": {"size": 1_572_864, "sha256": "a" * 64},
             "xlsx": {"size": 20_480, "sha256": "b" * 64}}
    view = report_views.report_view(report(state="ready", progress=90, files=files))
    assert view.progress == 100
    assert not view.busy
    assert [(f.label, f.size) for f in view.files] == [("PDF", "1,5 MB"),
                                                       ("XLSX (Excel)", "20 KB")]
    shown = report_views.progress_json(report(state="ready", files=files, can_approve=True))
    assert shown["done"]
    assert shown["files"] == {"pdf": "1,5 MB", "xlsx": "20 KB"}
    assert shown["can_approve"] is True


def test_the_decision_and_receipts_read_in_indonesian():
    view = report_views.report_view(report(
        state="ready", decision="approved", archived=True, decided_at="2026-05-05T03:00:00Z",
        receipts=[{"role": "inspektur", "user": "Ibu Inspektur",
                   "acknowledged_at": "2026-05-06T03:00:00+00:00"}]))
    assert view.approved
    assert view.decision_label == "Disetujui Kepala Dinas"
    (receipt,) = view.receipts
    assert (receipt.role, receipt.user) == ("Inspektur", "Ibu Inspektur")


def test_the_kepala_decides_and_the_city_acknowledges():
    kepala = principal((Role.KEPALA_DINAS, TENANT))
    inspektur = principal((Role.INSPEKTUR, None))
    waiting = report_views.report_view(report())
    assert report_views.report_forms(kepala, waiting).approve_pending
    assert not report_views.report_forms(kepala, waiting).approve
    ready = report_views.report_view(report(state="ready", can_approve=True))
    assert report_views.report_forms(kepala, ready).approve
    assert not report_views.report_forms(inspektur, ready).approve
    approved = report_views.report_view(report(state="ready", decision="approved"))
    assert not report_views.report_forms(kepala, approved).approve
    assert report_views.report_forms(inspektur, approved).acknowledge
    assert not report_views.report_forms(kepala, approved).acknowledge


# -- the client's reading of refusals ------------------------------------------------------------

def test_the_reporting_error_body_is_kept_and_anything_else_gets_a_plain_message():
    refused = refusal(409, b'{"error": {"code": 409, "message": "LKE belum lengkap.", '
                           b'"details": ["A.1.a.1 belum dijawab."]}}',
                      error=ReportingCallError, unreachable=UNREACHABLE_MESSAGE)
    assert isinstance(refused, ReportingCallError)
    assert isinstance(refused, ServiceCallError)
    assert (refused.status, refused.message, refused.details) == (
        409, "LKE belum lengkap.", ["A.1.a.1 belum dijawab."])
    garbled = refusal(502, b"<html>", error=ReportingCallError, unreachable=UNREACHABLE_MESSAGE)
    assert garbled.message == UNREACHABLE_MESSAGE


@pytest.mark.parametrize(("value", "shown"), [("30", "30"), ("12.5", "12,5"), (2, "2"),
                                               ("0.75", "0,75"), (None, "")])
def test_weights_drop_needless_decimals(value, shown):
    assert report_views.weight_label(value) == shown
