"""What the reporting API answers, built from the domain's rows as plain dicts (the views dump
them with the schemas of `schemas.py`): rubrics, the LKE with its score and problems, the
accepted evidence of a cycle, and reports with their files, decision and receipts."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.reporting import reports
from services.reporting.evaluations import EvidenceVersion, Sheet
from shared.identity.models import User
from shared.identity.principal import Principal
from shared.publication_targets import Targets, visible_ids
from shared.reporting.models import Evaluation, Report, ReportReceipt, ReportState, Rubric
from shared.reporting.rubric import AnswerProblem, Score, unanswered


def rubric_summary(rubric: Rubric) -> dict[str, Any]:
    return {"id": rubric.id, "code": rubric.code, "version": rubric.version,
            "name": rubric.name, "regulation": rubric.definition.get("regulation", "")}


def rubric_offer(targets: Targets, readable: Collection[uuid.UUID] | None) -> dict[str, Any]:
    """Whom a rubric version is published to, as the caller may be told (a dinas hears only
    about itself)."""
    return {"all_tenants": targets.all_tenants, "tenant_ids": visible_ids(targets, readable)}


def rubric_detail(rubric: Rubric) -> dict[str, Any]:
    return {**rubric_summary(rubric), "source": rubric.definition.get("source", ""),
            "published_at": rubric.published_at, "definition": rubric.definition}


def score_view(score: Score) -> dict[str, Any]:
    return {
        "total": score.total, "grade": score.grade.grade, "grade_label": score.grade.label,
        "answered": score.answered, "criteria": score.criteria, "complete": score.complete,
        "components": [
            {"code": c.code, "name": c.name, "weight": c.weight, "score": c.score,
             "parts": [{"code": p.code, "group": p.group, "name": p.name, "weight": p.weight,
                        "score": p.score, "answered": p.answered, "criteria": p.criteria}
                       for p in c.parts]}
            for c in score.components],
    }


def problems_view(problems: Sequence[AnswerProblem]) -> list[dict[str, Any]]:
    return [{"criterion": p.criterion, "message": p.message} for p in problems]


def preview_view(sheet: Sheet) -> dict[str, Any]:
    return {"score": score_view(sheet.score), "problems": problems_view(sheet.problems),
            "unanswered": unanswered(sheet.definition, sheet.answers)}


def evaluation_view(evaluation: Evaluation, sheet: Sheet) -> dict[str, Any]:
    return {
        "id": evaluation.id, "cycle_id": evaluation.cycle_id, "tenant_id": evaluation.tenant_id,
        "rubric": rubric_detail(sheet.rubric),
        "answers": {code: {"answer": e.answer, "note": e.note, "evidence": list(e.evidence)}
                    for code, e in sheet.entries.items()},
        "findings": evaluation.findings, "recommendations": evaluation.recommendations,
        "state": evaluation.state, "revision": evaluation.revision,
        **preview_view(sheet),
        "updated_at": evaluation.updated_at, "finalised_at": evaluation.finalised_at,
    }


def evidence_view(version: EvidenceVersion) -> dict[str, Any]:
    return {"version_id": version.version_id, "bidang": version.bidang,
            "document_type": version.document_type, "title": version.title,
            "filename": version.filename, "sha256": version.sha256}


def report_views(session: Session, found: Sequence[Report],
                 principal: Principal) -> list[dict[str, Any]]:
    return [report_view(session, report, principal) for report in found]


def report_view(session: Session, report: Report, principal: Principal) -> dict[str, Any]:
    ready = report.state == ReportState.READY and report.pdf_key and report.xlsx_key
    receipts = reports.receipts_of(session, report.id)
    names = _full_names(session, {r.user_id for r in receipts})
    return {
        "id": report.id, "kind": report.kind, "cycle_id": report.cycle_id,
        "tenant_id": report.tenant_id, "year": report.year,
        "evaluation_revision": report.evaluation_revision, "state": report.state,
        "progress": report.progress, "progress_label": report.progress_label,
        "error": report.error, "requested_at": report.requested_at,
        "finished_at": report.finished_at,
        "files": {"pdf": {"size": report.pdf_size or 0, "sha256": report.pdf_sha256 or ""},
                  "xlsx": {"size": report.xlsx_size or 0, "sha256": report.xlsx_sha256 or ""}}
        if ready else None,
        "decision": report.decision, "decision_reason": report.decision_reason,
        "decided_at": report.decided_at, "archived": report.archive_key is not None,
        "receipts": [_receipt(r, names) for r in receipts],
        "can_approve": reports.can_approve(session, principal, report),
    }


def receipt_view(session: Session, receipt: ReportReceipt) -> dict[str, Any]:
    return _receipt(receipt, _full_names(session, {receipt.user_id}))


def _receipt(receipt: ReportReceipt, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {"id": receipt.id, "role": receipt.role, "user": names.get(receipt.user_id, ""),
            "user_id": receipt.user_id, "acknowledged_at": receipt.acknowledged_at}


def _full_names(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.full_name).where(User.id.in_(ids))).all())
