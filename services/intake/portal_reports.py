"""The portal's pages for SOP step 6, on the portal blueprint: a cycle's LKE (the evaluation
team's form with its live score, read-only for the other readers), the cycle's reports (request,
progress, files, the kepala_dinas's approval or return, the city's acknowledgement), and the city
recap for bagian_organisasi and inspektur.

Every action goes to the reporting REST API through `reporting_client` on the user's behalf; the
reporting service decides. A 403/404 answer becomes an error page, an unreachable service a 503
page; a 409/422 becomes a message on the page with what is missing. Two small JSON routes serve
the page scripts (static files: the CSP allows no inline script): the live score (proxying the
evaluation preview) and a report's progress (proxying the report), both as the user.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from services.intake import report_views
from services.intake.auth import current_principal, login_required, resources
from services.intake.clock import current_time
from services.intake.portal import bp, json_error, parse_uuid, signed_in
from services.intake.reporting_client import ReportingCallError, ReportingClient
from services.reporting.rubrics import DEFAULT_RUBRIC
from shared.cycles.calendars import calendar_for
from shared.cycles.models import Cycle, CycleState, CycleStep, StepState
from shared.i18n import DEFAULT_TIME_ZONE
from shared.identity.models import Tenant
from shared.identity.scope import tenant_scope

REPORTING_FIELD_LABELS = {"reason": "Alasan", "year": "Tahun", "answers": "Jawaban",
                          "findings": "Temuan", "recommendations": "Rekomendasi",
                          "rubric_id": "Rubrik", "evidence": "Bukti dukung"}
CONFIRM_FIELD = "yakin"


def _client() -> ReportingClient:
    return ReportingClient(resources().settings, signed_in())


def _fetch(call: Callable[[ReportingClient], Any]) -> Any:
    """A read for a page: any refusal becomes the error page with the service's words."""
    try:
        return call(_client())
    except ReportingCallError as exc:
        abort(exc.status, description=exc.message)


def _fetch_or_none(call: Callable[[ReportingClient], Any]) -> Any:
    """A read that may find nothing yet (404: e.g. no evaluation before the first save)."""
    try:
        return call(_client())
    except ReportingCallError as exc:
        if exc.status == 404:
            return None
        abort(exc.status, description=exc.message)


def _flash_refusal(exc: ReportingCallError) -> None:
    flash(exc.message, "error")
    for detail in exc.details:
        flash(detail, "error-detail")
    for name, messages in exc.fields.items():
        flash(f"{REPORTING_FIELD_LABELS.get(name, name)}: {' '.join(messages)}", "error-detail")


def _act(call: Callable[[ReportingClient], Any], *, success: Callable[[Any], str],
         back: Callable[[Any], str]) -> ResponseReturnValue:
    """One reporting action, then back to its page: 403/404 as error pages, a refusal the user
    can act on (409/422, or the service unreachable) as messages saying what is wrong."""
    try:
        answer = call(_client())
    except ReportingCallError as exc:
        if exc.status in (403, 404):
            abort(exc.status, description=exc.message)
        _flash_refusal(exc)
        answer = None
    else:
        flash(success(answer), "success")
    return redirect(back(answer), code=303)


def _reason() -> str:
    return request.form.get("alasan", "")


@bp.context_processor
def _reporting_context() -> dict[str, Any]:
    return {"evaluation_links": _evaluation_links, "recap_link": _recap_link}


def _evaluation_links(tenant_id: uuid.UUID) -> report_views.CycleLinks:
    principal = current_principal()
    if principal is None:
        return report_views.CycleLinks(lke=False, reports=False)
    return report_views.cycle_links(principal, tenant_id)


def _recap_link() -> bool:
    principal = current_principal()
    return principal is not None and report_views.can_see_recaps(principal)


# -- the cycle as the portal reads it ------------------------------------------------------------

@dataclass(frozen=True)
class CycleFacts:
    id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_name: str
    year: int
    active: bool
    evaluation_step_active: bool
    time_zone: str


def _cycle_facts(cycle_id: uuid.UUID) -> CycleFacts:
    """The cycle's header (a plain read of the workflow's tables); another dinas's cycle is a
    404 here already, as it is in the reporting service."""
    with resources().session_factory() as session:
        cycle = session.get(Cycle, cycle_id)
        if cycle is None or not tenant_scope(signed_in()).can_read(cycle.tenant_id):
            abort(404)
        step = session.scalar(select(CycleStep.state).where(
            CycleStep.cycle_id == cycle_id, CycleStep.number == report_views.EVALUATION_STEP))
        return CycleFacts(
            id=cycle.id, tenant_id=cycle.tenant_id,
            tenant_name=session.get_one(Tenant, cycle.tenant_id).name, year=cycle.year,
            active=cycle.state == CycleState.ACTIVE,
            evaluation_step_active=step == StepState.ACTIVE,
            time_zone=calendar_for(session, cycle.tenant_id).time_zone)


def _rubric_for_new(wanted: str | None) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The rubric a new evaluation would use (with its definition) and every published one."""
    rubrics = report_views.listed(_fetch(lambda c: c.get("/rubrics")), "rubrics")
    chosen = report_views.pick_rubric(rubrics, wanted, default_code=DEFAULT_RUBRIC)
    if chosen is None:
        return None, rubrics
    return _fetch(lambda c: c.get(f"/rubrics/{chosen['id']}")), rubrics


def _lke_url(cycle_id: uuid.UUID, anchor: str | None = None) -> str:
    return url_for("portal.lke", cycle_id=cycle_id, _anchor=anchor)


# -- the LKE ----------------------------------------------------------------------------------

@bp.get("/siklus/<cycle_id>/lke")
@login_required
def lke(cycle_id: str) -> ResponseReturnValue:
    principal = signed_in()
    cycle = _cycle_facts(parse_uuid(cycle_id))
    evaluation = _fetch_or_none(lambda c: c.get(f"/cycles/{cycle.id}/evaluation"))
    rubrics: list[dict[str, Any]] = []
    if evaluation is None:
        rubric, rubrics = _rubric_for_new(request.args.get("rubrik"))
    else:
        rubric = evaluation["rubric"]
    forms = report_views.lke_forms(
        principal, cycle.tenant_id, cycle_active=cycle.active,
        step_active=cycle.evaluation_step_active,
        state=evaluation.get("state") if evaluation else None)
    view = report_views.lke_view(rubric, evaluation) if rubric is not None else None
    evidence = report_views.evidence_options(
        _fetch(lambda c: c.get(f"/cycles/{cycle.id}/evidence"))) if view else []
    return render_template(
        "portal/lke.html", cycle=cycle, lke=view, forms=forms, rubrics=rubrics,
        evidence=evidence, evidence_labels={e.version_id: e.label for e in evidence},
        fields=report_views)


@bp.post("/siklus/<cycle_id>/lke")
@login_required
def save_lke(cycle_id: str) -> ResponseReturnValue:
    cycle = _cycle_facts(parse_uuid(cycle_id))
    evaluation = _fetch_or_none(lambda c: c.get(f"/cycles/{cycle.id}/evaluation"))
    if evaluation is None:
        rubric_id = request.form.get(report_views.RUBRIC_FIELD, "")
        rubric = _fetch(lambda c: c.get(f"/rubrics/{parse_uuid(rubric_id)}"))
    else:
        rubric = evaluation["rubric"]
    view = report_views.lke_view(rubric, evaluation)
    body = report_views.draft_body(request.form.to_dict(flat=False), view, evaluation)
    if not body:
        flash("Tidak ada perubahan; draf LKE tetap seperti semula.", "info")
        return redirect(_lke_url(cycle.id), code=303)

    def saved(answer: Any) -> str:
        score = report_views.score_view(answer.get("score") or {})
        problems = answer.get("problems") or []
        note = (f" Ada {len(problems)} catatan konsistensi jawaban; lihat daftarnya."
                if problems else "")
        return (f"Draf LKE tersimpan (revisi {answer.get('revision')}). Nilai sementara "
                f"{score.total} ({score.grade}).{note}")

    return _act(lambda c: c.put(f"/cycles/{cycle.id}/evaluation", body), success=saved,
                back=lambda _: _lke_url(cycle.id))


@bp.post("/siklus/<cycle_id>/lke/pratinjau")
@login_required
def preview_lke(cycle_id: str) -> ResponseReturnValue:
    """The live score of the form as it stands (the page's script posts it on every change)."""
    cid = parse_uuid(cycle_id)
    body = report_views.preview_body(request.form.to_dict(flat=False))
    try:
        answer = _client().post(f"/cycles/{cid}/evaluation/preview", body)
    except ReportingCallError as exc:
        return jsonify(error={"code": exc.status, "message": exc.message,
                              "details": exc.details, "fields": exc.fields}), exc.status
    return jsonify(report_views.preview_json(answer))


@bp.post("/siklus/<cycle_id>/lke/finalisasi")
@login_required
def finalise_lke(cycle_id: str) -> ResponseReturnValue:
    cid = parse_uuid(cycle_id)
    if request.form.get(CONFIRM_FIELD) != "ya":
        flash("Centang pernyataan bahwa seluruh jawaban sudah diperiksa sebelum finalisasi.",
              "error")
        return redirect(_lke_url(cid, "finalisasi"), code=303)

    def finalised(answer: Any) -> str:
        score = report_views.score_view(answer.get("score") or {})
        return (f"LKE difinalisasi dan dikunci. Nilai akhir {score.total} "
                f"({score.grade} - {score.grade_label}).")

    return _act(lambda c: c.post(f"/cycles/{cid}/evaluation/finalise"), success=finalised,
                back=lambda _: _lke_url(cid))


@bp.post("/siklus/<cycle_id>/lke/buka-kembali")
@login_required
def reopen_lke(cycle_id: str) -> ResponseReturnValue:
    cid = parse_uuid(cycle_id)
    return _act(lambda c: c.post(f"/cycles/{cid}/evaluation/reopen", {"reason": _reason()}),
                success=lambda _: "LKE dibuka kembali sebagai draf.",
                back=lambda _: _lke_url(cid))


# -- the reports of a cycle ------------------------------------------------------------------------

@bp.get("/siklus/<cycle_id>/laporan")
@login_required
def reports(cycle_id: str) -> ResponseReturnValue:
    principal = signed_in()
    cycle = _cycle_facts(parse_uuid(cycle_id))
    listed = report_views.listed(_fetch(lambda c: c.get(f"/cycles/{cycle.id}/reports")),
                                 "reports")
    evaluation = _fetch_or_none(lambda c: c.get(f"/cycles/{cycle.id}/evaluation"))
    views = [report_views.report_view(r) for r in listed]
    return render_template(
        "portal/reports.html", cycle=cycle, reports=views,
        forms={v.id: report_views.report_forms(principal, v) for v in views},
        can_request=report_views.can_request_report(principal, cycle.tenant_id),
        evaluation=evaluation, time_zone=cycle.time_zone,
        score=report_views.score_view(evaluation["score"])
        if evaluation and evaluation.get("score") else None)


@bp.post("/siklus/<cycle_id>/laporan")
@login_required
def request_report(cycle_id: str) -> ResponseReturnValue:
    cid = parse_uuid(cycle_id)
    return _act(lambda c: c.post(f"/cycles/{cid}/reports"),
                success=lambda _: "Permintaan laporan diterima; laporan sedang disusun.",
                back=lambda answer: _report_or(answer, url_for("portal.reports", cycle_id=cid)))


def _report_or(answer: Any, fallback: str) -> str:
    """The page of the report just requested (the API answers {report} or the report)."""
    if isinstance(answer, dict):
        report = answer.get("report", answer)
        if isinstance(report, dict) and report.get("id"):
            return url_for("portal.report", report_id=report["id"])
    return fallback


# -- one report ----------------------------------------------------------------------------------

@bp.get("/laporan/<report_id>")
@login_required
def report(report_id: str) -> ResponseReturnValue:
    principal = signed_in()
    rid = parse_uuid(report_id)
    view = report_views.report_view(_fetch(lambda c: c.get(f"/reports/{rid}")))
    cycle = _cycle_facts(uuid.UUID(view.cycle_id)) if view.cycle_id else None
    return render_template(
        "portal/report.html", report=view, cycle=cycle,
        forms=report_views.report_forms(principal, view),
        time_zone=cycle.time_zone if cycle else DEFAULT_TIME_ZONE)


@bp.get("/laporan/<report_id>/status")
@login_required
def report_status(report_id: str) -> ResponseReturnValue:
    """A report's progress for the progress bar's script (polled every second)."""
    rid = parse_uuid(report_id)
    try:
        answer = _client().get(f"/reports/{rid}")
    except ReportingCallError as exc:
        return json_error(exc.status, exc.message)
    return jsonify(report_views.progress_json(answer))


@bp.get("/laporan/<report_id>/unduh/<kind>")
@login_required
def download_report(report_id: str, kind: str) -> ResponseReturnValue:
    """The file through a short-lived presigned link the reporting service signs (and audits)
    for this user; a file not ready or not visible is a 404."""
    rid = parse_uuid(report_id)
    if kind not in report_views.FILE_KINDS:
        abort(404)
    link = _fetch(lambda c: c.get(f"/reports/{rid}/files/{kind}"))
    return redirect(link["url"], code=302)


def _report_url(report_id: uuid.UUID) -> str:
    return url_for("portal.report", report_id=report_id)


@bp.post("/laporan/<report_id>/setujui")
@login_required
def approve_report(report_id: str) -> ResponseReturnValue:
    rid = parse_uuid(report_id)
    return _act(lambda c: c.post(f"/reports/{rid}/approve"),
                success=lambda _: ("Laporan disetujui, diarsipkan, dan diteruskan kepada "
                                   "Bagian Organisasi dan Inspektur."),
                back=lambda _: _report_url(rid))


@bp.post("/laporan/<report_id>/kembalikan")
@login_required
def return_report(report_id: str) -> ResponseReturnValue:
    rid = parse_uuid(report_id)
    return _act(lambda c: c.post(f"/reports/{rid}/return", {"reason": _reason()}),
                success=lambda _: ("Laporan dikembalikan kepada tim evaluasi; LKE dibuka "
                                   "kembali sebagai draf."),
                back=lambda _: _report_url(rid))


@bp.post("/laporan/<report_id>/konfirmasi")
@login_required
def acknowledge_report(report_id: str) -> ResponseReturnValue:
    rid = parse_uuid(report_id)
    return _act(lambda c: c.post(f"/reports/{rid}/acknowledge"),
                success=lambda _: "Penerimaan laporan sudah dikonfirmasi.",
                back=lambda _: _report_url(rid))


# -- the city recap ------------------------------------------------------------------------------

@bp.get("/rekap")
@login_required
def recaps() -> ResponseReturnValue:
    principal = signed_in()
    year = request.args.get("tahun", type=int)
    listed = report_views.listed(_fetch(lambda c: c.get("/recaps", {"year": year})), "reports")
    views = [report_views.report_view(r) for r in listed]
    return render_template(
        "portal/recap.html", reports=views, year=year, default_year=current_time().year,
        forms={v.id: report_views.report_forms(principal, v) for v in views},
        time_zone=DEFAULT_TIME_ZONE)


@bp.post("/rekap")
@login_required
def request_recap() -> ResponseReturnValue:
    year = request.form.get("tahun", "").strip()
    body = {"year": int(year) if year.isdigit() else year}
    return _act(lambda c: c.post("/recaps", body),
                success=lambda _: f"Permintaan rekap {year} diterima; rekap sedang disusun.",
                back=lambda answer: _report_or(answer, url_for("portal.recaps")))
