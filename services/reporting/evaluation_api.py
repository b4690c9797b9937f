"""The LKE endpoints of the reporting API (/api/v1/cycles/<id>/evaluation...): read it, save the
draft (merge), preview the score of a change without saving it (the portal's live score),
finalise, reopen; and the accepted evidence an answer may cite.

Readers: the dinas's tim_evaluasi, kasubbag_program and kepala_dinas, and bagian_organisasi and
inspektur for every dinas; only the tim_evaluasi writes, and only while step 6 runs
(services.reporting.evaluations decides)."""

from __future__ import annotations

import uuid

from flask import Blueprint
from flask.typing import ResponseReturnValue

from services.reporting import access, evaluations, presenters
from services.reporting.api import dumped
from services.reporting.schemas import (
    EvaluationChangeSchema,
    EvaluationSchema,
    EvidenceSchema,
    PreviewSchema,
    ReasonSchema,
)
from shared.clock import now
from shared.web.api_http import json_body, unit_of_work
from shared.web.openapi import documented
from shared.web.service_auth import caller, principal_required

bp = Blueprint("evaluation", __name__, url_prefix="/api/v1")

LKE = "LKE"
WRITE_ERRORS = (403, 404, 409, 415, 422)


@bp.get("/cycles/<uuid:cycle_id>/evaluation")
@principal_required
@documented(summary="LKE siklus: jawaban, temuan, rekomendasi, nilai dan predikatnya",
            description="404 bila LKE belum pernah disimpan.",
            responses={200: ("LKE", EvaluationSchema)}, errors=(403, 404))
def get_evaluation(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = access.visible_cycle(session, principal, cycle_id)
        access.require_dinas_reader(principal, cycle.tenant_id, LKE)
        evaluation = evaluations.require_evaluation(session, cycle.id)
        return dumped(EvaluationSchema(), presenters.evaluation_view(
            evaluation, evaluations.sheet_of(session, evaluation)))


@bp.put("/cycles/<uuid:cycle_id>/evaluation")
@principal_required
@documented(summary="Simpan draf LKE (Tim Evaluasi, selama langkah 6): hanya yang dikirim "
                    "yang berubah",
            description="Dibuat pada penyimpanan pertama (rubrik bawaan: versi terbaru "
                        "permenpanrb-12-2015). Kriteria atau jawaban yang tidak dikenal dan bukti "
                        "yang bukan dokumen diterima siklus ini dijawab 422 (`details`). "
                        "Pelanggaran aturan konsistensi tetap disimpan dan ditampilkan di "
                        "`problems`.",
            body=EvaluationChangeSchema, responses={200: ("LKE tersimpan", EvaluationSchema)},
            errors=WRITE_ERRORS)
def put_evaluation(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = access.visible_cycle(session, principal, cycle_id, lock=True)
        change = json_body(EvaluationChangeSchema)
        evaluation, sheet = evaluations.save_draft(session, cycle, change=change,
                                                   principal=principal, at=now())
        return dumped(EvaluationSchema(), presenters.evaluation_view(evaluation, sheet))


@bp.post("/cycles/<uuid:cycle_id>/evaluation/preview")
@principal_required
@documented(summary="Nilai LKE bila perubahan ini disimpan (tidak menyimpan apa pun)",
            body=EvaluationChangeSchema, body_required=False,
            responses={200: ("Nilai dan masalah", PreviewSchema)}, errors=WRITE_ERRORS)
def preview_evaluation(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = access.visible_cycle(session, principal, cycle_id)
        access.require_role(principal, cycle.tenant_id, access.EVALUATORS, "mengisi LKE")
        change = json_body(EvaluationChangeSchema, optional=True)
        # A preview writes nothing, not even the default rubric published on first need.
        savepoint = session.begin_nested()
        try:
            sheet = evaluations.merged(session, cycle,
                                       evaluations.evaluation_of(session, cycle.id), change)
        finally:
            savepoint.rollback()
        return dumped(PreviewSchema(), presenters.preview_view(sheet))


@bp.post("/cycles/<uuid:cycle_id>/evaluation/finalise")
@principal_required
@documented(summary="Finalisasi dan kunci LKE (Tim Evaluasi)",
            description="409 dengan `details`: setiap kriteria yang belum dijawab dan setiap "
                        "aturan konsistensi yang dilanggar.",
            responses={200: ("LKE final", EvaluationSchema)}, errors=(403, 404, 409))
def finalise_evaluation(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = access.visible_cycle(session, principal, cycle_id, lock=True)
        evaluation, sheet = evaluations.finalise(session, cycle, principal=principal, at=now())
        return dumped(EvaluationSchema(), presenters.evaluation_view(evaluation, sheet))


@bp.post("/cycles/<uuid:cycle_id>/evaluation/reopen")
@principal_required
@documented(summary="Buka kembali LKE final sebagai draf (Tim Evaluasi), dengan alasan",
            description="Ditolak (409) setelah laporan siklus ini disetujui Kepala Dinas.",
            body=ReasonSchema, responses={200: ("LKE kembali draf", EvaluationSchema)},
            errors=WRITE_ERRORS)
def reopen_evaluation(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = access.visible_cycle(session, principal, cycle_id, lock=True)
        access.require_role(principal, cycle.tenant_id, access.EVALUATORS, "membuka kembali LKE")
        body = json_body(ReasonSchema)
        evaluation = evaluations.reopen(session, cycle, principal=principal,
                                        reason=body["reason"], at=now())
        return dumped(EvaluationSchema(), presenters.evaluation_view(
            evaluation, evaluations.sheet_of(session, evaluation)))


@bp.get("/cycles/<uuid:cycle_id>/evidence")
@principal_required
@documented(summary="Dokumen yang diterima pada pengumpulan siklus: bukti yang dapat dirujuk "
                    "jawaban LKE",
            responses={200: ("Bukti", EvidenceSchema(many=True))}, errors=(403, 404))
def list_evidence(cycle_id: uuid.UUID) -> ResponseReturnValue:
    principal = caller()
    with unit_of_work() as session:
        cycle = access.visible_cycle(session, principal, cycle_id)
        access.require_dinas_reader(principal, cycle.tenant_id, "Bukti dukung")
        return dumped(EvidenceSchema(many=True), [
            presenters.evidence_view(v) for v in evaluations.accepted_evidence(session, cycle)])
