"""The LKE of a cycle below HTTP (services.reporting.evaluations) against PostgreSQL: the stored
score against hand-computed sums, merging and revisions, the rubric fixed once answered, when the
LKE may change at all, the accepted evidence, finalising and reopening, and two team members
saving the first draft at the same moment."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from services.intake import packages
from services.reporting import access, evaluations
from services.reporting.rubrics import ensure_bundled_rubrics, latest_rubric
from services.workflow.cycles import cancel_cycle
from shared.audit import AuditEntry
from shared.clock import now
from shared.cycles.models import Cycle
from shared.db import transaction
from shared.events.models import OutboxEvent
from shared.reporting.models import Evaluation, EvaluationAnswer, Report, ReportKind
from shared.storage import StoredObject
from shared.web.errors import Conflict, Invalid, NotAllowed
from tests.integration.test_reporting_api import (
    default_definition,
    full_marks,
    hand_in_and_accept,
    start_step_six,
)
from tests.world import COLLECTING_AT


def save(session_factory, dinas, change, *, key: str = "tim"):
    with transaction(session_factory) as session:
        cycle = session.get_one(Cycle, dinas.cycle_id)
        evaluation, sheet = evaluations.save_draft(session, cycle, change=change,
                                                   principal=dinas.principals[key], at=now())
        return evaluation.id, evaluation.revision, sheet


def stored(session_factory, dinas) -> Evaluation:
    with session_factory() as session:
        evaluation = evaluations.evaluation_of(session, dinas.cycle_id)
        assert evaluation is not None
        session.expunge(evaluation)
        return evaluation


def answers_of(session_factory, evaluation_id) -> dict[str, str | None]:
    with session_factory() as session:
        return dict(session.execute(select(EvaluationAnswer.criterion, EvaluationAnswer.answer)
                                    .where(EvaluationAnswer.evaluation_id == evaluation_id))
                    .all())


def test_the_stored_score_is_the_hand_computed_sum(world, session_factory):
    start_step_six(session_factory, world.a)
    # A.1.c (weight 3, three A-E criteria): (0,75 + 0,5 + unanswered 0) / 3 x 3 = 1,25
    # A.2.a (weight 4): Y, Y, A, E -> (1 + 1 + 1 + 0) / 4 x 4 = 3,00
    # A.1.a (weight 2, nine criteria): one Y -> 1 / 9 x 2 = 0,2222... -> 0,22
    _id, _revision, sheet = save(session_factory, world.a, {"answers": {
        "A.1.c.1": {"answer": "B"}, "A.1.c.2": {"answer": "C"},
        "A.2.a.1": {"answer": "A"}, "A.2.a.2": {"answer": "Y"}, "A.2.a.3": {"answer": "E"},
        "A.2.a.4": {"answer": "Y"}, "A.1.a.1": {"answer": "Y"}}})
    parts = {p.code: p.score for c in sheet.score.components for p in c.parts}
    assert parts["A.1.c"] == Decimal("1.25")
    assert parts["A.2.a"] == Decimal("3.00")
    assert parts["A.1.a"] == Decimal("0.22")
    assert sheet.score.components[0].score == Decimal("4.47")  # 1,25 + 3 + 0,2222 -> 4,47
    assert (sheet.score.total, sheet.score.grade.grade, sheet.score.answered) == (
        Decimal("4.47"), "D", 7)
    evaluation = stored(session_factory, world.a)
    assert (evaluation.total, evaluation.grade) == (Decimal("4.47"), "D")

    # Every criterion of A (30) and B (25) with full marks: 55,00 -> CC (above 50).
    definition = default_definition()
    full = {code: entry for code, entry in full_marks(definition).items()
            if code.startswith(("A.", "B."))}
    save(session_factory, world.a, {"answers": full})
    evaluation = stored(session_factory, world.a)
    assert (evaluation.total, evaluation.grade) == (Decimal("55.00"), "CC")


def test_each_change_bumps_the_revision_and_an_empty_one_stores_nothing(world, session_factory):
    start_step_six(session_factory, world.a)
    evaluation_id, revision, _sheet = save(session_factory, world.a, {
        "answers": {"A.1.a.1": {"answer": "Y", "note": "Ada."}}, "findings": "Satu."})
    assert revision == 1
    _id, revision, sheet = save(session_factory, world.a, {
        "answers": {"A.1.a.2": {"answer": "T"}}})
    assert revision == 2
    assert sheet.entries["A.1.a.1"].note == "Ada."  # untouched by the second save
    assert sheet.findings == "Satu."
    _id, revision, _sheet = save(session_factory, world.a, {
        "answers": {"A.1.a.2": {"answer": "T"}}, "findings": "Satu."})
    assert revision == 2  # nothing changed
    _id, revision, _sheet = save(session_factory, world.a, {
        "answers": {"A.1.a.1": {"note": None}}})
    assert revision == 3
    assert answers_of(session_factory, evaluation_id) == {"A.1.a.1": "Y", "A.1.a.2": "T"}
    with session_factory() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.target_id == str(evaluation_id)).order_by(AuditEntry.id)))
    assert actions == ["evaluation.created", "evaluation.saved", "evaluation.saved"]


def test_the_rubric_is_fixed_once_a_criterion_is_answered(world, session_factory):
    start_step_six(session_factory, world.a)
    with transaction(session_factory) as session:
        ensure_bundled_rubrics(session)
        other = latest_rubric(session, "permenpanrb-88-2021")
        assert other is not None
        other_id, first_of_other = other.id, next(iter(
            c["code"] for comp in other.definition["components"]
            for sub in comp["subcomponents"] for c in sub["criteria"]))
    evaluation_id, _revision, _sheet = save(session_factory, world.a, {
        "answers": {"A.1.a.1": {"note": "Catatan saja."}}})
    _id, _revision, sheet = save(session_factory, world.a, {"rubric_id": other_id})
    assert sheet.rubric.id == other_id  # nothing answered yet: the team may switch
    assert sheet.entries == {}
    assert answers_of(session_factory, evaluation_id) == {}
    save(session_factory, world.a, {"answers": {first_of_other: {"answer": "Y"}}})
    with transaction(session_factory) as session:
        default = latest_rubric(session, "permenpanrb-12-2015")
        assert default is not None
        default_id = default.id
    with pytest.raises(Conflict, match="tidak dapat diganti"):
        save(session_factory, world.a, {"rubric_id": default_id})
    assert stored(session_factory, world.a).rubric_id == other_id


def test_the_lke_changes_only_while_step_six_runs_and_only_by_the_team(world, session_factory):
    with pytest.raises(Conflict, match="belum dimulai"):
        save(session_factory, world.a, {"findings": "Terlalu dini."})
    start_step_six(session_factory, world.a)
    with pytest.raises(NotAllowed, match="Tim Evaluasi"):
        save(session_factory, world.a, {"findings": "Bukan tim."}, key="kepala")
    save(session_factory, world.a, {"findings": "Tim."})
    with transaction(session_factory) as session:
        cancel_cycle(session, session.get_one(Cycle, world.a.cycle_id), at=now(),
                     principal=world.a.principals["kepala"], reason="Salah buka.")
    with pytest.raises(Conflict, match="dibatalkan"):
        save(session_factory, world.a, {"findings": "Setelah batal."})
    assert stored(session_factory, world.a).findings == "Tim."


def test_only_accepted_versions_of_the_cycle_are_evidence(world, session_factory):
    accepted = hand_in_and_accept(session_factory, world.a, bidang_index=0)
    staff, reviewer = world.a.principals["staf2"], world.a.principals["kasubbag"]
    with transaction(session_factory) as session:
        cycle = session.get_one(Cycle, world.a.cycle_id)
        package = packages.ensure_package(session, cycle=cycle, bidang_id=world.a.bidang[1])
        items = {i.document_type: i.id for i in packages.items_of(session, package)}
        for code, item_id in items.items():
            packages.add_version(session, principal=staff, item_id=item_id, at=COLLECTING_AT,
                                 upload=packages.VersionInput(
                                     stored=StoredObject(key=f"t/{code}", sha256=code * 8,
                                                         size=1, version_id=None),
                                     kind="pdf", content_type="application/pdf",
                                     filename="x.pdf", title=code, year=2026, notes=None))
        packages.submit_package(session, principal=staff, package_id=package.id,
                                at=COLLECTING_AT)
        for item_id in items.values():  # returned, never accepted
            packages.review_item(session, principal=reviewer, item_id=item_id,
                                 decision=packages.Decision.RETURN, reason="Belum ditandatangani.",
                                 at=COLLECTING_AT)
    start_step_six(session_factory, world.a)
    with session_factory() as session:
        cycle = session.get_one(Cycle, world.a.cycle_id)
        listed = evaluations.accepted_evidence(session, cycle)
    assert sorted(str(v.version_id) for v in listed) == sorted(accepted)
    with pytest.raises(Invalid) as refused:
        save(session_factory, world.a, {"answers": {"A.1.a.1": {
            "answer": "Y", "evidence": [accepted[0], "00000000-0000-0000-0000-000000000000"]}}})
    assert refused.value.details == ["Bukti 00000000-0000-0000-0000-000000000000 bukan dokumen "
                                     "yang diterima pada pengumpulan siklus ini."]


def test_finalising_and_reopening_move_the_revision_and_emit_their_events(
        world, session_factory):
    start_step_six(session_factory, world.a)
    save(session_factory, world.a, {"answers": full_marks(default_definition())})
    with transaction(session_factory) as session:
        cycle = session.get_one(Cycle, world.a.cycle_id)
        evaluation, _sheet = evaluations.finalise(session, cycle,
                                                  principal=world.a.principals["tim"], at=now())
        assert (evaluation.state, evaluation.revision) == ("final", 2)
    with transaction(session_factory) as session:
        cycle = session.get_one(Cycle, world.a.cycle_id)
        evaluation = evaluations.reopen(session, cycle, principal=world.a.principals["tim"],
                                        reason="Periksa ulang.", at=now())
        assert (evaluation.state, evaluation.revision) == ("draft", 3)
    with session_factory() as session:
        types = list(session.scalars(select(OutboxEvent.type).where(
            OutboxEvent.type.like("evaluation.%")).order_by(OutboxEvent.seq)))
    assert types == ["evaluation.finalised", "evaluation.reopened"]

    with transaction(session_factory) as session:  # a report of the cycle approved meanwhile
        cycle = session.get_one(Cycle, world.a.cycle_id)
        evaluations.finalise(session, cycle, principal=world.a.principals["tim"], at=now())
        session.add(Report(kind=ReportKind.CYCLE.value, tenant_id=cycle.tenant_id,
                           cycle_id=cycle.id, year=cycle.year, decision="approved"))
    with pytest.raises(Conflict, match="sudah disetujui"), \
            transaction(session_factory) as session:
        evaluations.reopen(session, session.get_one(Cycle, world.a.cycle_id),
                           principal=world.a.principals["tim"], reason="Lagi.", at=now())
    with pytest.raises(Invalid, match="Alasan"), transaction(session_factory) as session:
        evaluations.reopen(session, session.get_one(Cycle, world.a.cycle_id),
                           principal=world.a.principals["tim"], reason="  ", at=now())


def test_two_first_saves_at_once_make_one_lke_with_both_answers(world, session_factory):
    start_step_six(session_factory, world.a)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def first_save(code: str) -> None:
        try:
            with transaction(session_factory) as session:
                barrier.wait(timeout=10)
                cycle = access.visible_cycle(session, world.a.principals["tim"],
                                             world.a.cycle_id, lock=True)  # as the API does
                evaluations.save_draft(session, cycle, change={"answers": {code: {"answer": "Y"}}},
                                       principal=world.a.principals["tim"], at=now())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_save, args=(code,))
               for code in ("A.1.a.1", "A.1.a.2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Evaluation)) == 1
    evaluation = stored(session_factory, world.a)
    assert evaluation.revision == 2
    assert answers_of(session_factory, evaluation.id) == {"A.1.a.1": "Y", "A.1.a.2": "Y"}
