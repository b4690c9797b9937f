"""What the portal's LKE and report pages show, built from the reporting API's answers (JSON)
and the principal's roles: the rubric's criteria grouped by component and sub-component with the
team's answers, the live score, the reports with their progress, files and decision. Pure
functions: the pages fetch, these shape (and read the LKE form back into the API's body).

Which role gets which form mirrors the reporting service's rules (imported from its `access`, not
restated); the service still decides every action itself, so a forged form post gets its 403.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from services.intake.cycle_views import instant, role_label
from services.reporting.access import (
    DECIDERS,
    EVALUATORS,
    REQUESTERS,
    can_read_dinas,
    holds,
    is_city_reader,
)
from shared.i18n import format_bytes, format_decimal
from shared.identity.principal import Principal

EVALUATION_STEP = 6  # SOP step 6: the evaluation team analyses and reports

EVALUATION_STATE_LABELS = {"draft": "Draf", "final": "Final"}
REPORT_STATE_LABELS = {"queued": "Menunggu giliran", "running": "Sedang disusun",
                       "ready": "Siap diunduh", "failed": "Gagal disusun"}
REPORT_KIND_LABELS = {"cycle": "Laporan Hasil Evaluasi SAKIP Internal",
                      "city_recap": "Rekapitulasi kota"}
DECISION_LABELS = {"approved": "Disetujui Kepala Dinas",
                   "returned": "Dikembalikan kepada tim evaluasi"}
FILE_LABELS = {"pdf": "PDF", "xlsx": "XLSX (Excel)"}
FILE_KINDS = tuple(FILE_LABELS)
VALUE_WORDS = {"Y": "Ya", "T": "Tidak"}
BUSY_STATES = frozenset({"queued", "running"})
DONE_STATES = frozenset({"ready", "failed"})

# The LKE form's fields, per criterion code (e.g. "jawaban-A.1.a.1").
ANSWER_FIELD = "jawaban-"
NOTE_FIELD = "catatan-"
EVIDENCE_FIELD = "bukti-"
FINDINGS_FIELD = "temuan"
RECOMMENDATIONS_FIELD = "rekomendasi"
RUBRIC_FIELD = "rubrik"

FormValues = Mapping[str, Sequence[str]]  # a form as {name: [values]} (MultiDict.to_dict(False))


def decimal_label(value: Any, places: int = 2) -> str:
    """A decimal of the API ("87.50", 2.5, 30) the Indonesian way ("87,50"); "" if none."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format_decimal(number, places)


def weight_label(value: Any) -> str:
    """A weight or an answer's value without needless decimals: 30 -> "30", 12.5 -> "12,5"."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value)).normalize()
    except InvalidOperation:
        return str(value)
    exponent = number.as_tuple().exponent
    places = min(2, max(0, -exponent)) if isinstance(exponent, int) else 2
    return format_decimal(number, places)


# -- who may do what ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CycleLinks:
    """The evaluation links the cycle page shows the signed-in user."""

    lke: bool
    reports: bool


def cycle_links(principal: Principal, tenant_id: uuid.UUID) -> CycleLinks:
    reader = can_read_dinas(principal, tenant_id)
    return CycleLinks(lke=reader, reports=reader)


def can_see_recaps(principal: Principal) -> bool:
    return is_city_reader(principal)


@dataclass(frozen=True)
class LkeForms:
    edit: bool  # answers, notes, evidence, findings, recommendations; save draft
    finalise: bool
    reopen: bool
    waiting_for_step: bool  # a team member before step 6 runs


def lke_forms(principal: Principal, tenant_id: uuid.UUID, *, cycle_active: bool,
              step_active: bool, state: str | None) -> LkeForms:
    evaluator = holds(principal, tenant_id, EVALUATORS) and cycle_active
    draft = state in (None, "draft")
    return LkeForms(edit=evaluator and step_active and draft,
                    finalise=evaluator and step_active and state == "draft",
                    reopen=evaluator and state == "final",
                    waiting_for_step=evaluator and not step_active and draft)


def can_request_report(principal: Principal, tenant_id: uuid.UUID) -> bool:
    return holds(principal, tenant_id, REQUESTERS)


# -- the LKE -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class CriterionRow:
    code: str
    dom_id: str  # the code made safe for an HTML id ("A.1.a.1" -> "k-A_1_a_1")
    text: str
    guidance: str | None
    scale: str
    options: list[Option]
    answer: str | None
    answer_label: str
    note: str
    evidence: list[str]  # document version ids


@dataclass(frozen=True)
class SubComponentView:
    code: str
    group: str | None
    name: str
    weight: str
    score: str  # "" before anything is scored
    criteria: list[CriterionRow]


@dataclass(frozen=True)
class ComponentView:
    code: str
    name: str
    weight: str
    score: str
    subcomponents: list[SubComponentView]


@dataclass(frozen=True)
class ScoreLine:
    code: str
    name: str
    weight: str
    score: str


@dataclass(frozen=True)
class ScoreView:
    total: str  # "87,50"
    grade: str
    grade_label: str
    components: list[ScoreLine]
    answered: int
    criteria: int


@dataclass(frozen=True)
class Problem:
    criterion: str | None
    message: str


@dataclass(frozen=True)
class LkeView:
    exists: bool  # a draft or final evaluation is stored
    rubric_id: str | None
    rubric_name: str
    rubric_version: int | None
    regulation: str
    source: str
    state: str | None
    state_label: str
    revision: int
    components: list[ComponentView]
    findings: str
    recommendations: str
    score: ScoreView | None
    problems: list[Problem]
    updated_at: datetime | None
    finalised_at: datetime | None

    @property
    def criterion_codes(self) -> list[str]:
        return [c.code for comp in self.components for sub in comp.subcomponents
                for c in sub.criteria]


def rubric_definition(rubric: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(id, definition) of a rubric as the API gives it: `{id, ..., definition: {...}}`, or the
    definition itself (with or without an id)."""
    definition = rubric.get("definition")
    if isinstance(definition, Mapping):
        return _str_or_none(rubric.get("id")), dict(definition)
    return _str_or_none(rubric.get("id")), dict(rubric)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def dom_id(code: str) -> str:
    return "k-" + re.sub(r"[^A-Za-z0-9]", "_", code)


def scale_options(scales: Mapping[str, Mapping[str, Any]], scale: str) -> list[Option]:
    """The answers a criterion allows, with their value: "Y (Ya, nilai 1)", "B (nilai 0,75)"."""
    values = scales.get(scale) or {}
    yes_no = set(values) <= set(VALUE_WORDS)
    return [Option(value, f"{value} ({VALUE_WORDS[value]}, nilai {weight_label(points)})"
                   if yes_no else f"{value} (nilai {weight_label(points)})")
            for value, points in values.items()]


def lke_view(rubric: Mapping[str, Any], evaluation: Mapping[str, Any] | None) -> LkeView:
    """The form (or the read-only sheet): every criterion of the rubric in its component and
    sub-component, with the stored answer, note and evidence, and the stored score."""
    rubric_id, definition = rubric_definition(rubric)
    answers: Mapping[str, Any] = (evaluation or {}).get("answers") or {}
    score = (evaluation or {}).get("score")
    parts = _score_parts(score)
    scales = definition.get("scales") or {}
    components = []
    for comp in definition.get("components") or []:
        subs = []
        for sub in comp.get("subcomponents") or []:
            rows = []
            for crit in sub.get("criteria") or []:
                stored = answers.get(crit["code"]) or {}
                options = scale_options(scales, crit["scale"])
                answer = stored.get("answer")
                rows.append(CriterionRow(
                    code=crit["code"], dom_id=dom_id(crit["code"]), text=crit["text"],
                    guidance=crit.get("guidance"), scale=crit["scale"], options=options,
                    answer=answer,
                    answer_label=next((o.label for o in options if o.value == answer),
                                      answer or "Belum dijawab"),
                    note=stored.get("note") or "",
                    evidence=[str(e) for e in stored.get("evidence") or []]))
            subs.append(SubComponentView(
                code=sub["code"], group=sub.get("group"), name=sub["name"],
                weight=weight_label(sub.get("weight")),
                score=decimal_label(parts.get(sub["code"])), criteria=rows))
        components.append(ComponentView(
            code=comp["code"], name=comp["name"], weight=weight_label(comp.get("weight")),
            score=decimal_label(parts.get(comp["code"])), subcomponents=subs))
    state = (evaluation or {}).get("state")
    return LkeView(
        exists=evaluation is not None, rubric_id=rubric_id,
        rubric_name=str(definition.get("name") or rubric.get("name") or ""),
        rubric_version=definition.get("version") or rubric.get("version"),
        regulation=str(definition.get("regulation") or ""),
        source=str(definition.get("source") or ""),
        state=state, state_label=EVALUATION_STATE_LABELS.get(state or "", "Belum diisi"),
        revision=int((evaluation or {}).get("revision") or 0), components=components,
        findings=(evaluation or {}).get("findings") or "",
        recommendations=(evaluation or {}).get("recommendations") or "",
        score=score_view(score) if score else None,
        problems=problems_of((evaluation or {}).get("problems")),
        updated_at=instant((evaluation or {}).get("updated_at")),
        finalised_at=instant((evaluation or {}).get("finalised_at")))


def _score_parts(score: Mapping[str, Any] | None) -> dict[str, Any]:
    """Component and sub-component scores by code."""
    found: dict[str, Any] = {}
    for comp in (score or {}).get("components") or []:
        found[comp["code"]] = comp.get("score")
        for part in comp.get("parts") or comp.get("subcomponents") or []:
            found[part["code"]] = part.get("score")
    return found


def score_view(score: Mapping[str, Any]) -> ScoreView:
    return ScoreView(
        total=decimal_label(score.get("total")) or "0,00", grade=str(score.get("grade") or ""),
        grade_label=str(score.get("grade_label") or ""),
        components=[ScoreLine(code=c["code"], name=c.get("name", ""),
                              weight=weight_label(c.get("weight")),
                              score=decimal_label(c.get("score")))
                    for c in score.get("components") or []],
        answered=int(score.get("answered") or 0), criteria=int(score.get("criteria") or 0))


def problems_of(problems: Any) -> list[Problem]:
    return [Problem(criterion=p.get("criterion"), message=str(p.get("message", "")))
            for p in problems or [] if isinstance(p, Mapping)]


def preview_json(answer: Mapping[str, Any]) -> dict[str, Any]:
    """The live score for the page's script, already in Indonesian: {total, grade, grade_label,
    answered, criteria, scores: {component or sub-component code: "12,50"}, problems: [...]}."""
    score = answer.get("score") or {}
    shown = score_view(score)
    return {"total": shown.total, "grade": shown.grade, "grade_label": shown.grade_label,
            "answered": shown.answered, "criteria": shown.criteria,
            "scores": {code: decimal_label(value) for code, value in _score_parts(score).items()},
            "problems": [vars(p) for p in problems_of(answer.get("problems"))]}


# -- reading the LKE form back -------------------------------------------------------------------

def _first(form: FormValues, name: str) -> str:
    values = form.get(name) or []
    return values[0] if values else ""


def answers_from_form(form: FormValues, codes: Sequence[str], *,
                      with_details: bool = True) -> dict[str, dict[str, Any]]:
    """Every criterion of the form as the API's `answers` entry: {answer (None when left
    empty), note, evidence} (only the answer for a preview)."""
    answers: dict[str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"answer": _first(form, ANSWER_FIELD + code).strip() or None}
        if with_details:
            entry["note"] = _first(form, NOTE_FIELD + code).strip() or None
            entry["evidence"] = [v for v in form.get(EVIDENCE_FIELD + code) or [] if v]
        answers[code] = entry
    return answers


def _normal(entry: Mapping[str, Any] | None) -> tuple[str | None, str | None, tuple[str, ...]]:
    entry = entry or {}
    return (entry.get("answer") or None, (entry.get("note") or "").strip() or None,
            tuple(sorted(str(e) for e in entry.get("evidence") or [])))


def changed_answers(submitted: Mapping[str, Mapping[str, Any]],
                    stored: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Only the criteria the form changes against what is stored now: a save touches nothing
    else (another team member's answers stay), and an unchanged form changes nothing."""
    return {code: dict(entry) for code, entry in submitted.items()
            if _normal(entry) != _normal(stored.get(code))}


def draft_body(form: FormValues, view: LkeView,
               stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The PUT body of "Simpan draf": the changed answers, the findings and recommendations
    when changed, the rubric when the evaluation is new. Empty when nothing changed."""
    body: dict[str, Any] = {}
    answers = changed_answers(answers_from_form(form, view.criterion_codes),
                              (stored or {}).get("answers") or {})
    if answers:
        body["answers"] = answers
    for field_name, key in ((FINDINGS_FIELD, "findings"),
                            (RECOMMENDATIONS_FIELD, "recommendations")):
        text = _first(form, field_name).strip() or None
        if text != (((stored or {}).get(key) or "").strip() or None):
            body[key] = text
    if stored is None and view.rubric_id:
        body["rubric_id"] = view.rubric_id
    return body


def form_criteria(form: FormValues) -> list[str]:
    """The criterion codes the LKE form carries (its answer selects), in the form's order."""
    return [name.removeprefix(ANSWER_FIELD) for name in form if name.startswith(ANSWER_FIELD)]


def preview_body(form: FormValues) -> dict[str, Any]:
    """The live score's body: every answer of the form as it stands (the service merges it into
    the stored draft and saves nothing); the rubric while the evaluation is new."""
    body: dict[str, Any] = {"answers": answers_from_form(form, form_criteria(form),
                                                         with_details=False)}
    rubric_id = _first(form, RUBRIC_FIELD)
    if rubric_id:
        body["rubric_id"] = rubric_id
    return body


def listed(answer: Any, key: str) -> list[dict[str, Any]]:
    """A list the API answers bare or wrapped ({key: [...]})."""
    rows = answer.get(key, []) if isinstance(answer, Mapping) else answer
    return [dict(row) for row in rows or [] if isinstance(row, Mapping)]


def pick_rubric(rubrics: Sequence[Mapping[str, Any]], wanted: str | None, *,
                default_code: str) -> Mapping[str, Any] | None:
    """The rubric a new evaluation starts with: the one asked for, else the latest version of
    the default rubric, else the latest of any."""
    if wanted:
        chosen = next((r for r in rubrics if str(r.get("id")) == wanted), None)
        if chosen is not None:
            return chosen
    for pool in ([r for r in rubrics if r.get("code") == default_code], list(rubrics)):
        if pool:
            return max(pool, key=lambda r: int(r.get("version") or 0))
    return None


# -- evidence --------------------------------------------------------------------------------

@dataclass(frozen=True)
class EvidenceOption:
    version_id: str
    label: str
    sha256: str


def evidence_options(answer: Any) -> list[EvidenceOption]:
    """The accepted documents of the cycle the team may cite, as "Bidang 1 · IKU · title
    (file.pdf)"."""
    options = []
    for row in listed(answer, "evidence"):
        title = row.get("title") or row.get("filename") or ""
        words = " · ".join(str(w) for w in (row.get("bidang"), row.get("document_type"), title)
                           if w)
        if row.get("filename") and row.get("filename") != title:
            words += f" ({row['filename']})"
        options.append(EvidenceOption(str(row["version_id"]), words, str(row.get("sha256", ""))))
    return options


# -- reports ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class FileView:
    kind: str  # pdf | xlsx
    label: str
    size: str  # "1,2 MB"
    sha256: str


@dataclass(frozen=True)
class ReceiptView:
    role: str  # a label
    user: str
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class ReportView:
    id: str
    kind: str
    kind_label: str
    cycle_id: str | None
    tenant_id: str | None
    year: int
    state: str
    state_label: str
    progress: int
    progress_label: str
    busy: bool  # queued or running: the page polls its progress
    error: str | None
    requested_at: datetime | None
    finished_at: datetime | None
    files: list[FileView]
    decision: str | None
    decision_label: str
    decision_reason: str | None
    decided_at: datetime | None
    archived: bool
    receipts: list[ReceiptView]
    can_approve: bool
    evaluation_revision: int | None

    @property
    def approved(self) -> bool:
        return self.decision == "approved"

    @property
    def downloads(self) -> list[FileView]:
        """Both files, ready or not (the page reveals the links once the build is done)."""
        ready = {f.kind: f for f in self.files}
        return [ready.get(kind) or FileView(kind=kind, label=FILE_LABELS[kind], size="",
                                            sha256="") for kind in FILE_KINDS]


def _files(files: Any) -> list[FileView]:
    if not isinstance(files, Mapping):
        return []
    return [FileView(kind=kind, label=FILE_LABELS[kind],
                     size=format_bytes(int(files[kind].get("size") or 0)),
                     sha256=str(files[kind].get("sha256") or ""))
            for kind in FILE_KINDS if isinstance(files.get(kind), Mapping)]


def _receipt_user(user: Any) -> str:
    if isinstance(user, Mapping):
        return str(user.get("full_name") or user.get("name") or user.get("username") or "")
    return "" if user is None else str(user)


def report_view(report: Mapping[str, Any]) -> ReportView:
    state = str(report.get("state") or "")
    progress = max(0, min(100, int(report.get("progress") or 0)))
    if state == "ready":
        progress = 100
    decision = report.get("decision")
    kind = str(report.get("kind") or "cycle")
    return ReportView(
        id=str(report["id"]), kind=kind, kind_label=REPORT_KIND_LABELS.get(kind, kind),
        cycle_id=_str_or_none(report.get("cycle_id")),
        tenant_id=_str_or_none(report.get("tenant_id")), year=int(report.get("year") or 0),
        state=state, state_label=REPORT_STATE_LABELS.get(state, state), progress=progress,
        progress_label=str(report.get("progress_label") or ""), busy=state in BUSY_STATES,
        error=report.get("error"), requested_at=instant(report.get("requested_at")),
        finished_at=instant(report.get("finished_at")),
        files=_files(report.get("files")) if state == "ready" else [],
        decision=decision, decision_label=DECISION_LABELS.get(decision or "", ""),
        decision_reason=report.get("decision_reason"),
        decided_at=instant(report.get("decided_at")), archived=bool(report.get("archived")),
        receipts=[ReceiptView(role=role_label(str(r.get("role", ""))),
                              user=_receipt_user(r.get("user")),
                              acknowledged_at=instant(r.get("acknowledged_at")))
                  for r in report.get("receipts") or [] if isinstance(r, Mapping)],
        can_approve=bool(report.get("can_approve")),
        evaluation_revision=report.get("evaluation_revision"))


def progress_json(report: Mapping[str, Any]) -> dict[str, Any]:
    """A report's progress for the page's script: {state, state_label, progress,
    progress_label, done, error, files: {pdf: "1,2 MB", ...}, can_approve}."""
    view = report_view(report)
    return {"state": view.state, "state_label": view.state_label, "progress": view.progress,
            "progress_label": view.progress_label, "done": view.state in DONE_STATES,
            "error": view.error, "files": {f.kind: f.size for f in view.files},
            "can_approve": view.can_approve}


@dataclass(frozen=True)
class ReportForms:
    approve: bool  # approve or return (the service says `can_approve`)
    approve_pending: bool  # a kepala_dinas waiting for the build: revealed once approvable
    acknowledge: bool


def report_forms(principal: Principal, report: ReportView) -> ReportForms:
    tenant = uuid.UUID(report.tenant_id) if report.tenant_id else None
    approver = (report.kind == "cycle" and tenant is not None
                and holds(principal, tenant, DECIDERS) and report.decision is None)
    return ReportForms(
        approve=approver and report.can_approve,
        approve_pending=approver and report.busy,
        acknowledge=report.kind == "cycle" and report.approved and is_city_reader(principal))
