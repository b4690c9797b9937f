"""The LKE of a cycle (SOP step 6): the tim_evaluasi fills it in as a draft, sees its score live,
finalises it (locked: the report is built from it) and reopens it when it must change.

A draft is changed by merging: only the criteria, findings and recommendations a change names are
touched. Answers are checked against the rubric (an unknown criterion or value is refused), the
evidence against the cycle's accepted documents; a broken consistency rule is saved and shown, and
refused only at finalisation. Every saved change bumps the revision (finalising and reopening
too), so a report names exactly the revision it was built from. The LKE may change only while
the cycle's step 6 runs.

Each function works in the caller's transaction and writes its audit row and event there.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.reporting import access
from services.reporting.rubrics import (
    DEFAULT_RUBRIC,
    ensure_bundled_rubrics,
    latest_rubric,
    rubric_offered,
)
from shared import audit
from shared.cycles.models import Cycle, CycleState, CycleStep, StepState
from shared.cycles.templates import cycle_definition
from shared.documents.models import DocumentVersion, ItemReview, Submission, SubmissionItem
from shared.events import emit, new_event
from shared.identity.models import Bidang
from shared.identity.principal import Principal
from shared.reporting.events import EVALUATION_FINALISED, EVALUATION_REOPENED
from shared.reporting.models import (
    Evaluation,
    EvaluationAnswer,
    EvaluationState,
    Report,
    ReportDecision,
    Rubric,
)
from shared.reporting.rubric import (
    AnswerProblem,
    RubricDefinition,
    Score,
    answer_problems,
    rubric_from_dict,
    score,
    unanswered,
)
from shared.web.errors import Conflict, Invalid, NotFound

SERVICE = "reporting"
EVALUATION_STEP = 6
ACCEPTED = "accepted"
MAX_REASON = 2000


@dataclass(frozen=True)
class Entry:
    """The team's answer to one criterion, its note and the evidence (document version ids)."""

    answer: str | None = None
    note: str | None = None
    evidence: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.answer is None and not self.note and not self.evidence


@dataclass(frozen=True)
class Sheet:
    """An LKE as it stands (stored, or stored merged with a change not yet saved) and its score."""

    rubric: Rubric
    definition: RubricDefinition
    entries: dict[str, Entry]
    findings: str | None
    recommendations: str | None
    score: Score
    problems: list[AnswerProblem]

    @property
    def answers(self) -> dict[str, str | None]:
        return {code: entry.answer for code, entry in self.entries.items()}


@dataclass(frozen=True)
class EvidenceVersion:
    version_id: uuid.UUID
    bidang: str
    document_type: str
    title: str
    filename: str
    sha256: str


# -- reading ---------------------------------------------------------------------------------------

def evaluation_of(session: Session, cycle_id: uuid.UUID, *,
                  for_update: bool = False) -> Evaluation | None:
    query = select(Evaluation).where(Evaluation.cycle_id == cycle_id)
    return session.scalars(query.with_for_update() if for_update else query).one_or_none()


def require_evaluation(session: Session, cycle_id: uuid.UUID, *,
                       for_update: bool = False) -> Evaluation:
    evaluation = evaluation_of(session, cycle_id, for_update=for_update)
    if evaluation is None:
        raise NotFound("LKE siklus ini")
    return evaluation


def definition_of(rubric: Rubric) -> RubricDefinition:
    return rubric_from_dict(rubric.definition)


def entries_of(session: Session, evaluation: Evaluation) -> dict[str, Entry]:
    rows = session.scalars(select(EvaluationAnswer).where(
        EvaluationAnswer.evaluation_id == evaluation.id))
    return {row.criterion: Entry(answer=row.answer, note=row.note,
                                 evidence=tuple(row.evidence or ()))
            for row in rows}


def sheet_of(session: Session, evaluation: Evaluation) -> Sheet:
    rubric = session.get_one(Rubric, evaluation.rubric_id)
    return _sheet(rubric, entries_of(session, evaluation), evaluation.findings,
                  evaluation.recommendations)


def _sheet(rubric: Rubric, entries: dict[str, Entry], findings: str | None,
           recommendations: str | None) -> Sheet:
    definition = definition_of(rubric)
    answers = {code: entry.answer for code, entry in entries.items()}
    return Sheet(rubric=rubric, definition=definition, entries=entries, findings=findings,
                 recommendations=recommendations, score=score(definition, answers),
                 problems=answer_problems(definition, answers))


def accepted_evidence(session: Session, cycle: Cycle) -> list[EvidenceVersion]:
    """The document versions the kasubbag_program accepted in the cycle's collection: what an
    answer may cite as its evidence."""
    labels = cycle_definition(session, cycle).document_label
    rows = session.execute(
        select(DocumentVersion.id, Bidang.name, SubmissionItem.document_type,
               DocumentVersion.title, DocumentVersion.filename, DocumentVersion.sha256)
        .join(ItemReview, ItemReview.version_id == DocumentVersion.id)
        .join(SubmissionItem, SubmissionItem.id == DocumentVersion.item_id)
        .join(Submission, Submission.id == SubmissionItem.submission_id)
        .join(Bidang, Bidang.id == Submission.bidang_id)
        .where(Submission.cycle_id == cycle.id, ItemReview.decision == ACCEPTED)
        .distinct()
        .order_by(Bidang.name, SubmissionItem.document_type, DocumentVersion.id)).all()
    return [EvidenceVersion(version_id=version_id, bidang=bidang,
                            document_type=labels(code), title=title, filename=filename,
                            sha256=sha256)
            for version_id, bidang, code, title, filename, sha256 in rows]


# -- when the LKE may change -----------------------------------------------------------------------

def require_step_six(session: Session, cycle: Cycle) -> None:
    """The LKE changes (and its report is decided on) only while the cycle runs its step 6
    (analysis and evaluation by the team)."""
    refusal = step_six_refusal(session, cycle)
    if refusal is not None:
        raise Conflict(refusal)


def step_six_refusal(session: Session, cycle: Cycle) -> str | None:
    """Why the cycle is not in its step 6 now (None: it is)."""
    if cycle.state == CycleState.CANCELLED:
        return "Siklus ini sudah dibatalkan."
    if cycle.state == CycleState.COMPLETED:
        return "Siklus ini sudah selesai; LKE tidak dapat diubah lagi."
    state = session.scalar(select(CycleStep.state).where(
        CycleStep.cycle_id == cycle.id, CycleStep.number == EVALUATION_STEP))
    if state == StepState.ACTIVE:
        return None
    when = "sudah selesai" if state == StepState.COMPLETED else "belum dimulai"
    return (f"Langkah 6 (analisa dan pengolahan data oleh tim evaluasi) {when}; LKE dan "
            "laporannya hanya dapat diubah atau diputuskan selama langkah 6 berjalan.")


def approved_report(session: Session, cycle_id: uuid.UUID) -> Report | None:
    return session.scalars(select(Report).where(
        Report.cycle_id == cycle_id, Report.decision == ReportDecision.APPROVED.value)).first()


# -- the draft -------------------------------------------------------------------------------------

def merged(session: Session, cycle: Cycle, evaluation: Evaluation | None,
           change: Mapping[str, Any]) -> Sheet:
    """The LKE with `change` merged in, checked, not saved.

    `change` holds only what the caller sends: `rubric_id`, `answers` ({criterion: {answer?,
    note?, evidence?}}), `findings`, `recommendations`. An unknown criterion or answer value, or
    evidence that is not an accepted document of the cycle, is refused (Invalid, every problem
    in `details`); a rubric change once answers exist is refused (Conflict)."""
    rubric = _rubric_for(session, cycle, evaluation, change.get("rubric_id"))
    entries = entries_of(session, evaluation) if evaluation is not None else {}
    if evaluation is not None and rubric.id != evaluation.rubric_id:
        if any(entry.answer is not None for entry in entries.values()):
            raise Conflict("Rubrik LKE tidak dapat diganti setelah ada jawaban.")
        entries = {}
    definition = definition_of(rubric)
    problems = _answer_changes_problems(session, cycle, definition, change.get("answers", {}))
    if problems:
        raise Invalid("Isian LKE tidak valid.", problems)
    for code, fields in change.get("answers", {}).items():
        entry = entries.get(code, Entry())
        if "answer" in fields:
            entry = replace(entry, answer=fields["answer"])
        if "note" in fields:
            entry = replace(entry, note=_text(fields["note"]))
        if "evidence" in fields:
            entry = replace(entry, evidence=tuple(dict.fromkeys(
                str(v) for v in fields["evidence"] or ())))
        entries[code] = entry
    entries = {code: entry for code, entry in entries.items() if not entry.empty}
    findings = (_text(change["findings"]) if "findings" in change
                else evaluation.findings if evaluation else None)
    recommendations = (_text(change["recommendations"]) if "recommendations" in change
                       else evaluation.recommendations if evaluation else None)
    return _sheet(rubric, entries, findings, recommendations)


def save_draft(session: Session, cycle: Cycle, *, change: Mapping[str, Any],
               principal: Principal, at: datetime) -> tuple[Evaluation, Sheet]:
    """Merge `change` into the cycle's draft LKE (created on the first save) and store its
    score. A finalised LKE is refused; a save that changes nothing stores nothing."""
    access.require_role(principal, cycle.tenant_id, access.EVALUATORS, "mengisi LKE")
    require_step_six(session, cycle)
    evaluation = evaluation_of(session, cycle.id, for_update=True)
    if evaluation is not None and evaluation.state == EvaluationState.FINAL:
        raise Conflict("LKE sudah difinalisasi; buka kembali LKE untuk mengubahnya.")
    before = sheet_of(session, evaluation) if evaluation is not None else None
    sheet = merged(session, cycle, evaluation, change)
    if evaluation is not None and before is not None and _same(before, sheet):
        return evaluation, sheet
    created = evaluation is None
    if evaluation is None:
        evaluation = Evaluation(tenant_id=cycle.tenant_id, cycle_id=cycle.id,
                                rubric_id=sheet.rubric.id, revision=0, created_at=at)
        session.add(evaluation)
        session.flush()
    changed = _store_entries(session, evaluation, before, sheet, by=principal.user_id, at=at)
    evaluation.rubric_id = sheet.rubric.id
    evaluation.findings, evaluation.recommendations = sheet.findings, sheet.recommendations
    _store_score(evaluation, sheet)
    evaluation.revision += 1
    evaluation.updated_at, evaluation.updated_by = at, principal.user_id
    session.flush()
    audit.record(session, service=SERVICE, action="evaluation.created" if created
                 else "evaluation.saved", target_type="evaluation", target_id=evaluation.id,
                 tenant_id=cycle.tenant_id, actor_user_id=principal.user_id,
                 before=_summary(before) if before else None,
                 after={**_summary(sheet), "revision": evaluation.revision,
                        "criteria_changed": changed})
    return evaluation, sheet


def finalise(session: Session, cycle: Cycle, *, principal: Principal,
             at: datetime) -> tuple[Evaluation, Sheet]:
    """Lock the LKE: every criterion answered and no consistency rule broken (else Conflict
    listing each unanswered criterion and each broken rule)."""
    access.require_role(principal, cycle.tenant_id, access.EVALUATORS, "memfinalisasi LKE")
    require_step_six(session, cycle)
    evaluation = evaluation_of(session, cycle.id, for_update=True)
    if evaluation is None:
        raise Conflict("LKE siklus ini belum diisi.")
    if evaluation.state == EvaluationState.FINAL:
        raise Conflict("LKE sudah difinalisasi.")
    sheet = sheet_of(session, evaluation)
    missing = [f"Kriteria {code} belum dijawab: {sheet.definition.criterion(code).text}"
               for code in unanswered(sheet.definition, sheet.answers)]
    missing += [problem.message for problem in sheet.problems]
    if missing:
        raise Conflict("LKE belum dapat difinalisasi.", missing)
    evaluation.state = EvaluationState.FINAL.value
    evaluation.finalised_at, evaluation.finalised_by = at, principal.user_id
    evaluation.revision += 1
    _store_score(evaluation, sheet)
    session.flush()
    audit.record(session, service=SERVICE, action=EVALUATION_FINALISED, target_type="evaluation",
                 target_id=evaluation.id, tenant_id=cycle.tenant_id,
                 actor_user_id=principal.user_id, before={"state": EvaluationState.DRAFT.value},
                 after={"state": evaluation.state, "revision": evaluation.revision,
                        **_summary(sheet)})
    emit(session, new_event(EVALUATION_FINALISED, tenant_id=cycle.tenant_id, payload={
        "evaluation_id": evaluation.id, "cycle_id": cycle.id, "total": sheet.score.total,
        "grade": sheet.score.grade.grade, "finalised_by": principal.user_id}))
    return evaluation, sheet


def reopen(session: Session, cycle: Cycle, *, principal: Principal, reason: str,
           at: datetime) -> Evaluation:
    """The team unlocks its finalised LKE to change it (not once a report of the cycle is
    approved: that report is archived as the cycle's result)."""
    access.require_role(principal, cycle.tenant_id, access.EVALUATORS, "membuka kembali LKE")
    why = require_reason(reason)
    require_step_six(session, cycle)
    evaluation = evaluation_of(session, cycle.id, for_update=True)
    if evaluation is None:
        raise Conflict("LKE siklus ini belum diisi.")
    if evaluation.state != EvaluationState.FINAL:
        raise Conflict("LKE masih berupa draf; tidak ada yang perlu dibuka kembali.")
    if approved_report(session, cycle.id) is not None:
        raise Conflict("Laporan hasil evaluasi siklus ini sudah disetujui Kepala Dinas; LKE "
                       "tidak dapat dibuka kembali.")
    return reopen_final(session, evaluation, by=principal.user_id, reason=why, at=at)


def reopen_final(session: Session, evaluation: Evaluation, *, by: uuid.UUID, reason: str,
                 at: datetime) -> Evaluation:
    """FINAL -> DRAFT, audited and evented (the team's reopen, or a report returned by the
    kepala_dinas: the caller has checked who may)."""
    evaluation.state = EvaluationState.DRAFT.value
    evaluation.finalised_at = evaluation.finalised_by = None
    evaluation.revision += 1
    evaluation.updated_at, evaluation.updated_by = at, by
    session.flush()
    audit.record(session, service=SERVICE, action=EVALUATION_REOPENED, target_type="evaluation",
                 target_id=evaluation.id, tenant_id=evaluation.tenant_id, actor_user_id=by,
                 before={"state": EvaluationState.FINAL.value},
                 after={"state": evaluation.state, "revision": evaluation.revision},
                 reason=reason)
    emit(session, new_event(EVALUATION_REOPENED, tenant_id=evaluation.tenant_id, payload={
        "evaluation_id": evaluation.id, "cycle_id": evaluation.cycle_id, "reason": reason}))
    return evaluation


def require_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise Invalid("Alasan wajib diisi.")
    if len(text) > MAX_REASON:
        raise Invalid(f"Alasan paling panjang {MAX_REASON} karakter.")
    return text


# -- helpers ---------------------------------------------------------------------------------------

def _rubric_for(session: Session, cycle: Cycle, evaluation: Evaluation | None,
                rubric_id: uuid.UUID | None) -> Rubric:
    """The rubric asked for (it must be offered to the cycle's dinas), the evaluation's own (kept
    even if no longer offered: its answers were given against it), or the default."""
    if rubric_id is not None:
        rubric = session.get(Rubric, rubric_id)
        if rubric is None:
            raise Invalid("Isian LKE tidak valid.", [f"Rubrik {rubric_id} tidak ditemukan."])
        if evaluation is not None and rubric.id == evaluation.rubric_id:
            return rubric
        if not rubric_offered(session, rubric, cycle.tenant_id):
            raise Invalid("Isian LKE tidak valid.", [
                f"Rubrik {rubric.name} versi {rubric.version} tidak diterbitkan untuk "
                "perangkat daerah ini."])
        return rubric
    if evaluation is not None:
        return session.get_one(Rubric, evaluation.rubric_id)
    return default_rubric(session, cycle.tenant_id)


def default_rubric(session: Session, tenant_id: uuid.UUID) -> Rubric:
    """The newest version offered to the dinas of the rubric the SOP cites (the bundled files
    published on first need)."""
    if latest_rubric(session, DEFAULT_RUBRIC) is None:
        ensure_bundled_rubrics(session)
    rubric = latest_rubric(session, DEFAULT_RUBRIC, tenant_id=tenant_id)
    if rubric is None:
        raise Conflict("Belum ada rubrik LKE yang diterbitkan untuk perangkat daerah ini.")
    return rubric


def _answer_changes_problems(session: Session, cycle: Cycle, definition: RubricDefinition,
                             answers: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """An unknown criterion, a value outside its scale (the rubric's own words: one answer
    alone breaks no consistency rule), evidence that is not an accepted document of the cycle."""
    problems = [problem.message for code, fields in answers.items()
                for problem in answer_problems(definition, {code: fields.get("answer")})]
    cited = {str(v) for fields in answers.values() for v in fields.get("evidence") or ()}
    if cited:
        accepted = {str(e.version_id) for e in accepted_evidence(session, cycle)}
        problems += [f"Bukti {version_id} bukan dokumen yang diterima pada pengumpulan "
                     "siklus ini." for version_id in sorted(cited - accepted)]
    return problems


def _store_entries(session: Session, evaluation: Evaluation, before: Sheet | None, sheet: Sheet,
                   *, by: uuid.UUID, at: datetime) -> list[str]:
    """Write the answer rows that differ; the criteria changed, sorted."""
    old = before.entries if before is not None and before.rubric.id == sheet.rubric.id else {}
    if before is not None and before.rubric.id != sheet.rubric.id:
        session.execute(delete(EvaluationAnswer).where(
            EvaluationAnswer.evaluation_id == evaluation.id))
    rows = {row.criterion: row for row in session.scalars(select(EvaluationAnswer).where(
        EvaluationAnswer.evaluation_id == evaluation.id))}
    changed = sorted(code for code in set(old) | set(sheet.entries)
                     if old.get(code) != sheet.entries.get(code))
    for code in changed:
        entry, row = sheet.entries.get(code), rows.get(code)
        if entry is None:
            if row is not None:
                session.delete(row)
            continue
        if row is None:
            row = EvaluationAnswer(evaluation_id=evaluation.id, tenant_id=evaluation.tenant_id,
                                   criterion=code)
            session.add(row)
        row.answer, row.note, row.evidence = entry.answer, entry.note, list(entry.evidence)
        row.updated_at, row.updated_by = at, by
    return changed


def _store_score(evaluation: Evaluation, sheet: Sheet) -> None:
    evaluation.total = sheet.score.total
    evaluation.grade = sheet.score.grade.grade


def _same(before: Sheet, after: Sheet) -> bool:
    return (before.rubric.id == after.rubric.id and before.entries == after.entries
            and before.findings == after.findings
            and before.recommendations == after.recommendations)


def _summary(sheet: Sheet) -> dict[str, Any]:
    return {"rubric": f"{sheet.definition.code} v{sheet.definition.version}",
            "total": str(sheet.score.total), "grade": sheet.score.grade.grade,
            "answered": sheet.score.answered}


def _text(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None
