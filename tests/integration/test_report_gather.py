"""What the reports say, gathered from PostgreSQL (and checked against S3) for the collection
played in tests/reporting_world.py: the matrix cell by cell and its rates computed by hand, the
timeline in working hours, the extension, the LKE scored from saved answers, the evidence annex
against the stored objects, the city recap, and no other dinas's data in a cycle's content."""

from __future__ import annotations

import hashlib
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from services.intake.accounts import create_bidang
from services.reporting.content import CellStatus, CycleReportContent
from services.reporting.gather import city_recap_content, cycle_content
from shared.cycles.collection import collection_deadline, collection_step
from shared.cycles.models import CycleRequirement
from shared.db import transaction
from shared.documents.models import (
    DocumentVersion,
    ItemReview,
    ItemState,
    Submission,
    SubmissionItem,
)
from shared.identity.models import Tenant
from shared.reporting.models import (
    Evaluation,
    EvaluationAnswer,
    Report,
    ReportDecision,
    ReportKind,
    ReportState,
    Rubric,
)
from shared.reporting.rubric import parse_rubric
from shared.storage import ObjectStore
from tests.reporting_world import (
    EXTENSION_REASON,
    Cell,
    ReportingWorld,
    )

# Monday 20 April 2026, 10.00 WIB: step 6 (started Friday 17 April 08.10 WIB) runs, not overdue.
REPORT_AT = datetime(2026, 4, 20, 3, 0, tzinfo=UTC)
COLUMNS = ["IKU", "RENJA", "PK", "LKJIP"]
ON, LATE, RET, MISS, NONE = (CellStatus.ON_TIME, CellStatus.LATE, CellStatus.RETURNED,
                             CellStatus.MISSING, CellStatus.NOT_REQUIRED)

TEST_RUBRIC = """\
code: lke-uji
version: 1
name: LKE Uji Coba
regulation: Rubrik kecil untuk pengujian
source: Dibuat untuk pengujian
scales:
  YT: {Y: 1, T: 0}
  AE: {A: 1, B: 0.75, C: 0.5, D: 0.25, E: 0}
grades:
  - {grade: AA, above: 90, label: Sangat Memuaskan}
  - {grade: A, above: 80, label: Memuaskan}
  - {grade: BB, above: 70, label: Sangat Baik}
  - {grade: B, above: 60, label: Baik}
  - {grade: CC, above: 50, label: Cukup}
  - {grade: C, above: 30, label: Kurang}
  - {grade: D, above: null, label: Sangat Kurang}
components:
  - code: A
    name: Perencanaan Kinerja
    weight: 60
    subcomponents:
      - code: A.1
        name: Pemenuhan
        weight: 20
        criteria:
          - {code: A.1.1, text: Renstra telah disusun, scale: YT}
          - {code: A.1.2, text: Renstra telah direviu, scale: YT}
      - code: A.2
        name: Kualitas
        weight: 40
        criteria:
          - {code: A.2.1, text: Kualitas Renstra, scale: AE}
  - code: B
    name: Evaluasi Internal
    weight: 40
    subcomponents:
      - code: B.1
        name: Pemenuhan evaluasi
        weight: 40
        criteria:
          - {code: B.1.1, text: Evaluasi dilaksanakan, scale: AE}
          - {code: B.1.2, text: Evaluasi didokumentasikan, scale: AE}
          - {code: B.1.3, text: Rekomendasi ditindaklanjuti, scale: AE}
"""
# A.1 = (1 + 0) / 2 x 20 = 10.00; A.2 = 0.75 x 40 = 30.00; A = 40.00
# B.1 = (0.75 + 0.5 + 0 (unanswered)) / 3 x 40 = 16.666... -> 16.67; B = 16.67
# total = 56.666... -> 56.67: above 50, not above 60 -> CC (Cukup)
ANSWERS = {"A.1.1": "Y", "A.1.2": "T", "A.2.1": "B", "B.1.1": "B", "B.1.2": "C", "B.1.3": None}


def content_of(factory: sessionmaker[Session], cycle_id: uuid.UUID) -> CycleReportContent:
    with factory() as session:
        return cycle_content(session, cycle_id, at=REPORT_AT)


def cells(content: CycleReportContent) -> dict[str, list[CellStatus]]:
    return {row.bidang: [row.cells[c.code] for c in content.document_types]
            for row in content.bidang_rows}


@contextmanager
def counted_queries(session: Session) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def add_evaluation(factory: sessionmaker[Session], world: ReportingWorld, *,
                   state: str = "draft") -> None:
    definition = parse_rubric(TEST_RUBRIC, source_name="lke-uji.v1.yaml")
    with transaction(factory) as session:
        rubric = Rubric(code=definition.code, version=definition.version, name=definition.name,
                        definition=definition.to_dict())
        session.add(rubric)
        session.flush()
        evaluation = Evaluation(tenant_id=world.a.tenant_id, cycle_id=world.cycle_id,
                                rubric_id=rubric.id, state=state, revision=3,
                                findings="Renstra belum direviu.",
                                recommendations="Reviu Renstra sebelum triwulan III.",
                                total=Decimal("1.00"), grade="D")  # stale: recomputed anyway
        session.add(evaluation)
        session.flush()
        session.add_all(EvaluationAnswer(evaluation_id=evaluation.id,
                                         tenant_id=world.a.tenant_id, criterion=code,
                                         answer=answer, evidence=[])
                        for code, answer in ANSWERS.items())


# -- the matrix -----------------------------------------------------------------------------------

def test_matrix_cells_and_rates_as_computed_by_hand(
        reporting_world: ReportingWorld, session_factory: sessionmaker[Session]) -> None:
    content = content_of(session_factory, reporting_world.cycle_id)

    assert [c.code for c in content.document_types] == COLUMNS  # the template's order
    assert content.document_types[0].label == "Indikator Kinerja Utama (IKU)"
    assert cells(content) == {
        "Bidang 1": [ON, LATE, RET, ON],
        "Bidang 2": [ON, ON, ON, NONE],
        "Bidang 3": [MISS, MISS, NONE, NONE],
    }
    rows = {row.bidang: row for row in content.bidang_rows}
    assert [(r.required, r.submitted, r.on_time, r.reporting_rate, r.on_time_rate)
            for r in rows.values()] == [
        (4, 4, 2, Decimal("100.00"), Decimal("50.00")),
        (3, 3, 3, Decimal("100.00"), Decimal("100.00")),
        (2, 0, 0, Decimal("0.00"), Decimal("0.00")),
    ]
    totals = content.totals
    assert (totals.required, totals.submitted, totals.on_time, totals.late, totals.returned,
            totals.missing) == (9, 7, 5, 1, 1, 2)
    assert totals.reporting_rate == Decimal("77.78")  # 7 / 9
    assert totals.on_time_rate == Decimal("55.56")  # 5 / 9
    assert content.lke is None  # no evaluation yet
    # The world says the same cell by cell.
    for cell, status in reporting_world.expected.items():
        assert rows[cell.bidang].cells[cell.document_type] == status


def test_late_returned_and_missing_cells(
        reporting_world: ReportingWorld, session_factory: sessionmaker[Session]) -> None:
    w = reporting_world
    content = content_of(session_factory, w.cycle_id)
    rows = {row.bidang: row for row in content.bidang_rows}
    assert rows[w.late.bidang].cells[w.late.document_type] is LATE
    assert rows[w.returned.bidang].cells[w.returned.document_type] is RET
    assert all(rows[c.bidang].cells[c.document_type] is MISS for c in w.missing)
    with session_factory() as session:
        step = collection_step(session, w.cycle_id)
        assert step is not None
        assert step.due_at is not None
        # The late one: its accepted version was first handed in after Bidang 1's deadline.
        late = session.get_one(DocumentVersion, w.accepted_version_ids[w.late])
        deadline = collection_deadline(session, w.cycle_id, w.bidang[w.late.bidang])
        assert deadline == step.due_at
        assert late.first_submitted_at is not None
        assert late.first_submitted_at > deadline
        assert late.number == 2
        # LKJIP of Bidang 1 was returned too, but its accepted replacement came in time.
        replaced = session.get_one(DocumentVersion,
                                   w.accepted_version_ids[Cell("Bidang 1", "LKJIP")])
        assert replaced.number == 2
        assert replaced.first_submitted_at is not None
        assert replaced.first_submitted_at <= step.due_at
        returned = session.get_one(SubmissionItem, w.returned_item_id)
        assert returned.state == ItemState.RETURNED
        assert returned.return_reason == w.returned_reason
        # Bidang 3 uploaded its IKU but never handed the package in: still missing.
        drafts = session.scalars(select(DocumentVersion).join(SubmissionItem).join(Submission)
                                 .where(Submission.bidang_id == w.bidang["Bidang 3"])).all()
        assert [d.first_submitted_at for d in drafts] == [None]


def test_extension_makes_a_hand_in_after_the_step_deadline_on_time(
        reporting_world: ReportingWorld, session_factory: sessionmaker[Session]) -> None:
    w = reporting_world
    content = content_of(session_factory, w.cycle_id)
    [extension] = content.extensions
    assert extension.scope == "Bidang 2"
    assert extension.reason == EXTENSION_REASON
    assert extension.granted_by == "Dinas A kepala"
    assert extension.due_at == w.extension_due_at
    with session_factory() as session:
        step = collection_step(session, w.cycle_id)
        assert step is not None
        assert step.due_at is not None
        bidang_2 = w.bidang["Bidang 2"]
        assert collection_deadline(session, w.cycle_id, bidang_2) == w.extension_due_at
        handed_in = session.scalars(
            select(DocumentVersion.first_submitted_at).join(SubmissionItem).join(Submission)
            .where(Submission.bidang_id == bidang_2)).all()
    assert handed_in
    assert all(t is not None and step.due_at < t <= w.extension_due_at for t in handed_in)
    assert cells(content)["Bidang 2"][:3] == [ON, ON, ON]


# -- the header and the timeline ------------------------------------------------------------------

def test_header_from_the_template_and_the_tenant(
        reporting_world: ReportingWorld, session_factory: sessionmaker[Session]) -> None:
    header = content_of(session_factory, reporting_world.cycle_id).header
    assert header.dinas == "Dinas A"
    assert header.sop_name == "PENGUMPULAN DATA KINERJA"
    assert header.sop_number == "Perwali SOP Nomor 104 Tahun 2020"
    assert (header.created_on, header.revised_on, header.effective_on) == (
        "2020-03-04", None, "2020-03-04")
    assert header.approver_name == "DWI HERMANTO, S.Sos, M.Si"
    assert header.approver_title.startswith("Kepala Dinas Penanaman Modal")
    assert (header.year, header.time_zone) == (2026, "Asia/Jakarta")


def test_steps_planned_and_actual_in_working_hours(
        reporting_world: ReportingWorld, session_factory: sessionmaker[Session]) -> None:
    content = content_of(session_factory, reporting_world.cycle_id)
    steps = content.steps
    assert [s.number for s in steps] == [1, 2, 3, 4, 5, 6]
    assert [s.planned for s in steps] == ["1 jam kerja", "1 hari kerja", "1 hari kerja",
                                          "1 jam kerja", "5 hari kerja", "3 hari kerja"]
    # Office hours Mon-Thu 07.30-16.00, Fri 07.30-16.30. From Monday 08.10:
    # 1 working day = Mon 08.10-16.00 (7 h 50) + Tue 07.30-08.10 (40 min) = 8.50 h;
    # 5 working days = 7 h 50 + 3 x 8 h 30 + Fri 9 h + Mon 40 min = 43.00 h.
    # Step 6 from Friday 17 April 08.10: Fri 8 h 20 + Mon 8 h 30 + Tue 8 h 30 + Wed 40 min.
    assert [s.planned_hours for s in steps] == [Decimal(h) for h in (
        "1.00", "8.50", "8.50", "1.00", "43.00", "26.00")]
    assert [s.actual_hours for s in steps[:4]] == [Decimal("0.00")] * 4
    assert [s.met for s in steps[:4]] == [True] * 4
    # Step 5 ran from Monday 6 April 08.10 to its closure Friday 17 April 08.10 WIB:
    # 43.00 h to Monday 13 08.10, then Mon 7 h 50 + Tue-Thu 3 x 8 h 30 + Fri 40 min = 34.00 h.
    collection = steps[4]
    assert collection.state == "completed"
    assert collection.met is False
    assert collection.completed_at == reporting_world.collected_at
    assert collection.actual_hours == Decimal("77.00")
    analysis = steps[5]
    assert analysis.state == "active"
    assert analysis.met is None
    assert analysis.completed_at is None
    assert analysis.executors == "Tim Evaluasi Internal SAKIP"
    assert analysis.actual_hours == Decimal("10.83")  # Fri 8 h 20 + Mon 07.30-10.00
    assert content.cycle_state == "active"


def test_an_overdue_active_step_is_breached(
        reporting_world: ReportingWorld, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        later = cycle_content(session, reporting_world.cycle_id,
                              at=datetime(2026, 4, 23, 3, 0, tzinfo=UTC))
    assert later.steps[5].met is False
    assert later.steps[5].completed_at is None


# -- the LKE --------------------------------------------------------------------------------------

def test_lke_summary_scored_from_the_saved_answers(
        reporting_world: ReportingWorld, session_factory: sessionmaker[Session]) -> None:
    add_evaluation(session_factory, reporting_world)
    lke = content_of(session_factory, reporting_world.cycle_id).lke
    assert lke is not None
    assert lke.rubric == "LKE Uji Coba (versi 1)"
    assert lke.state == "draft"
    assert [(c.code, c.weight, c.score) for c in lke.components] == [
        ("A", Decimal(60), Decimal("40.00")), ("B", Decimal(40), Decimal("16.67"))]
    assert [(p.code, p.score) for p in lke.components[0].parts] == [
        ("A.1", Decimal("10.00")), ("A.2", Decimal("30.00"))]
    assert (lke.total, lke.grade, lke.grade_label) == (Decimal("56.67"), "CC", "Cukup")
    assert lke.findings == "Renstra belum direviu."
    assert lke.recommendations == "Reviu Renstra sebelum triwulan III."


# -- the evidence annex ---------------------------------------------------------------------------

def test_evidence_lists_every_accepted_version_with_the_stored_objects_sha256(
        reporting_world: ReportingWorld, session_factory: sessionmaker[Session],
        object_store: ObjectStore) -> None:
    w = reporting_world
    evidence = content_of(session_factory, w.cycle_id).evidence
    assert [(e.bidang, e.document_type.split(" (")[0], e.version) for e in evidence] == [
        ("Bidang 1", "Indikator Kinerja Utama", 1), ("Bidang 1", "Rencana Kerja", 2),
        ("Bidang 1", "Laporan Kinerja Instansi Pemerintah", 2),
        ("Bidang 2", "Indikator Kinerja Utama", 1), ("Bidang 2", "Rencana Kerja", 1),
        ("Bidang 2", "Perjanjian Kinerja", 1)]
    assert {e.sha256 for e in evidence} == set(w.accepted_sha256s.values())
    assert w.late_sha256 in {e.sha256 for e in evidence}
    with session_factory() as session:
        keys = dict(session.execute(select(DocumentVersion.sha256, DocumentVersion.object_key)
                                    .where(DocumentVersion.id.in_(
                                        w.accepted_version_ids.values()))).all())
    for line in evidence:
        response = object_store.open(keys[line.sha256])
        try:
            body = response.read()
        finally:
            response.close()
            response.release_conn()
        assert hashlib.sha256(body).hexdigest() == line.sha256
        assert len(body) == line.size_bytes
        assert line.filename.endswith(".pdf")
        assert line.accepted_at is not None


# -- tenants apart --------------------------------------------------------------------------------

def test_another_dinas_never_leaks_into_a_cycle(
        reporting_world: ReportingWorld, session_factory: sessionmaker[Session]) -> None:
    w = reporting_world
    # A forged version of dinas-b on dinas-a's Bidang 3 IKU (never handed in), "handed in" and
    # "accepted": rows of another tenant are not read, the cell stays missing.
    with transaction(session_factory) as session:
        item = session.scalars(select(SubmissionItem).join(Submission).where(
            Submission.cycle_id == w.cycle_id, Submission.bidang_id == w.bidang["Bidang 3"],
            SubmissionItem.document_type == "IKU")).one()
        forged = DocumentVersion(
            item_id=item.id, tenant_id=w.b.tenant_id, number=9, object_key="forged/1",
            sha256="f" * 64, size_bytes=1, kind="pdf", content_type="application/pdf",
            filename="x.pdf", title="x", year=2026, uploaded_by=w.b.users["dinas-b.staf1"],
            first_submitted_at=REPORT_AT)
        session.add(forged)
        session.flush()
        session.add(ItemReview(item_id=item.id, version_id=forged.id, tenant_id=w.b.tenant_id,
                               decision="accepted", reviewer_id=w.b.users["dinas-b.kasubbag"],
                               reviewed_at=REPORT_AT))
    a = content_of(session_factory, w.cycle_id)
    b = content_of(session_factory, w.b_cycle_id)
    a_hashes = {e.sha256 for e in a.evidence}
    b_hashes = {e.sha256 for e in b.evidence}
    assert a_hashes == set(w.accepted_sha256s.values())
    assert b_hashes == set(w.b_accepted_sha256.values())
    assert len(b_hashes) == 2
    assert not a_hashes & b_hashes
    assert "f" * 64 not in a_hashes
    assert cells(a)["Bidang 3"] == [MISS, MISS, NONE, NONE]
    assert b.header.dinas == "Dinas B"
    assert a.header.dinas == "Dinas A"
    assert cells(b) == {"Bidang 1": [ON, ON], "Bidang 2": [MISS, MISS]}
    assert b.extensions == ()
    assert len(a.extensions) == 1
    assert (b.totals.required, b.totals.submitted, b.totals.reporting_rate) == (
        4, 2, Decimal("50.00"))


# -- the city recap -------------------------------------------------------------------------------

def test_city_recap_puts_every_active_dinas_side_by_side(
        reporting_world: ReportingWorld, session_factory: sessionmaker[Session]) -> None:
    w = reporting_world
    add_evaluation(session_factory, w, state="final")
    with transaction(session_factory) as session:
        session.add(Report(kind=ReportKind.CYCLE.value, tenant_id=w.a.tenant_id,
                           cycle_id=w.cycle_id, year=w.year, state=ReportState.READY.value,
                           decision=ReportDecision.APPROVED.value, decided_at=REPORT_AT))
    with session_factory() as session:
        recap = city_recap_content(session, year=w.year, city="Kota Probolinggo", at=REPORT_AT)
        empty = city_recap_content(session, year=2025, city="Kota Probolinggo", at=REPORT_AT)
    assert (recap.city, recap.year, recap.time_zone) == ("Kota Probolinggo", 2026, "Asia/Jakarta")
    a, b, c = recap.rows  # "Dinas Lama" is deactivated: not in the recap
    assert [r.dinas for r in recap.rows] == ["Dinas A", "Dinas B", "Dinas C"]
    # dinas-a: its running cycle, not the cancelled one of the same year.
    assert (a.cycle_state, a.steps_completed, a.steps_total) == ("active", 5, 6)
    assert a.current_step is not None
    assert a.current_step.startswith("6. Analisa dan Pengolahan")
    assert (a.reporting_rate, a.on_time_rate) == (Decimal("77.78"), Decimal("55.56"))
    assert (a.total, a.grade, a.report_approved) == (Decimal("56.67"), "CC", True)
    assert (b.cycle_state, b.steps_completed, b.steps_total) == ("active", 4, 6)
    assert b.current_step is not None
    assert b.current_step.startswith("5. Pengumpulan data kinerja")
    assert (b.reporting_rate, b.on_time_rate) == (Decimal("50.00"), Decimal("50.00"))
    assert (b.total, b.grade, b.report_approved) == (None, None, False)
    assert (c.cycle_state, c.steps_completed, c.steps_total, c.current_step) == (
        "none", 0, 0, None)
    assert (c.reporting_rate, c.total, c.grade) == (Decimal("0.00"), None, None)
    assert [r.cycle_state for r in empty.rows] == ["none"] * 3


# -- cost -----------------------------------------------------------------------------------------

def test_gathering_costs_a_fixed_number_of_queries(
        reporting_world: ReportingWorld, session_factory: sessionmaker[Session]) -> None:
    add_evaluation(session_factory, reporting_world)
    with session_factory() as session, counted_queries(session) as statements:
        cycle_content(session, reporting_world.cycle_id, at=REPORT_AT)
    assert len(statements) <= 14, statements
    with session_factory() as session, counted_queries(session) as statements:
        city_recap_content(session, year=2026, city="Kota", at=REPORT_AT)
    assert len(statements) <= 12, statements


def test_a_dinas_of_twelve_bidang_gathers_fast(
        reporting_world: ReportingWorld, session_factory: sessionmaker[Session]) -> None:
    """12 Bidang x 11 document types on dinas-a's cycle: the matrix and its evidence gather in
    well under 200 ms (median of 5). The rows are bulk-inserted: this measures the gathering,
    not the seeding (the real-flow seeding is tested above)."""
    w = reporting_world
    types = [*COLUMNS, "RENSTRA", "SK_REVIEW_RENSTRA", "IKI", "SK_IKI", "PENGUKURAN_KINERJA",
             "LAPORAN_KINERJA", "EXTRA_11"]
    _bulk_dinas(session_factory, w, types)
    durations = []
    for _ in range(5):
        with session_factory() as session:
            started = time.perf_counter()
            content = cycle_content(session, w.cycle_id, at=REPORT_AT)
            durations.append(time.perf_counter() - started)
    assert len(content.bidang_rows) == 12 + 3
    assert len(content.document_types) == 11
    assert len(content.evidence) == 6 + 12 * 11
    assert statistics.median(durations) < 0.2, durations


def _bulk_dinas(factory: sessionmaker[Session], w: ReportingWorld, types: list[str]) -> None:
    uploader, reviewer = w.a.users["dinas-a.staf1"], w.a.users["dinas-a.kasubbag"]
    with transaction(factory) as session:
        tenant = session.get_one(Tenant, w.a.tenant_id)
        for n in range(4, 16):
            bidang = create_bidang(session, tenant=tenant, name=f"Bidang {n}")
            session.add_all(CycleRequirement(cycle_id=w.cycle_id, tenant_id=tenant.id,
                                             bidang_id=bidang.id, document_type=code)
                            for code in types)
            package = Submission(tenant_id=tenant.id, cycle_id=w.cycle_id, bidang_id=bidang.id,
                                 state="accepted", submitted_at=REPORT_AT, accepted_at=REPORT_AT)
            session.add(package)
            session.flush()
            for code in types:
                item = SubmissionItem(submission_id=package.id, tenant_id=tenant.id,
                                      document_type=code, state=ItemState.ACCEPTED.value)
                session.add(item)
                session.flush()
                version = DocumentVersion(
                    item_id=item.id, tenant_id=tenant.id, number=1,
                    object_key=f"bench/{uuid.uuid4().hex}",
                    sha256=hashlib.sha256(f"{n}{code}".encode()).hexdigest(), size_bytes=10,
                    kind="pdf", content_type="application/pdf", filename=f"{code}.pdf",
                    title=code, year=2026, uploaded_by=uploader, first_submitted_at=REPORT_AT)
                session.add(version)
                session.flush()
                session.add(ItemReview(item_id=item.id, version_id=version.id,
                                       tenant_id=tenant.id, decision="accepted",
                                       reviewer_id=reviewer, reviewed_at=REPORT_AT))
