"""Hand-built report content (no database) for the renderer tests and the reporting benchmark: a
cycle of a DPMPTSP-Naker-like dinas in step 6 with any number of Bidang and document types, a full
LKE AKIP (PermenPANRB 12/2015 weights) totalling 87,50 (A), and a city recap of any number of dinas.

The samples carry hostile text on purpose: markup (`<b>`, `<script>`) and spreadsheet formulas
(`=HYPERLINK(...)`, `@...`, `-...`) in findings, reasons, names, titles and file names.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from services.reporting.content import (
    BidangRow,
    CellStatus,
    CityRecapContent,
    CycleReportContent,
    DocumentTypeColumn,
    EvidenceLine,
    ExtensionLine,
    LkeSummary,
    RecapRow,
    ScoreLine,
    SopHeader,
    StepLine,
    Totals,
)

TIME_ZONE = "Asia/Jakarta"
DINAS = "Dinas Penanaman Modal, Pelayanan Terpadu Satu Pintu dan Tenaga Kerja"
FORMULA_TITLE = '=HYPERLINK("https://contoh.invalid/x","Klik")'
FORMULA_FILENAME = "-rekap+1.pdf"
SCRIPT_FINDING = "<script>alert('xss')</script>"
MARKUP_REASON = "Gangguan jaringan <b>kantor</b> selama dua hari & listrik padam"
EXPECTED_TOTAL = Decimal("87.50")
EXPECTED_GRADE = "A"

BIDANG_NAMES = (
    "Sekretariat",
    "Bidang Perencanaan & Pengembangan Iklim Penanaman Modal",
    "Bidang Promosi Penanaman Modal",
    "Bidang Pelayanan Perizinan",
    "Bidang Pengendalian Pelaksanaan Penanaman Modal",
    "Bidang Data dan Sistem Informasi",
    "Bidang Pengaduan, Kebijakan dan Pelaporan Layanan",
    "Bidang Pelatihan dan Produktivitas Tenaga Kerja",
    "Bidang Penempatan Tenaga Kerja",
    "Bidang Hubungan Industrial dan Jaminan Sosial",
    "UPT Balai Latihan Kerja",
    "@Subbagian Keuangan",
)
DOCUMENT_TYPES = (
    ("IKU", "Indikator Kinerja Utama (IKU)"),
    ("RENSTRA", "Rencana Strategis (Renstra)"),
    ("SK_REVIEW_RENSTRA", "SK Review Renstra"),
    ("IKI", "Indikator Kinerja Individu (IKI)"),
    ("SK_IKI", "SK IKI"),
    ("RENJA", "Rencana Kerja (Renja)"),
    ("PK", "Perjanjian Kinerja (PK)"),
    ("PENGUKURAN_KINERJA", "Pengukuran Kinerja"),
    ("LAPORAN_KINERJA", "Laporan Kinerja"),
    ("LKJIP", "Laporan Kinerja Instansi Pemerintah (LKjIP)"),
    ("RKT", "Rencana Kinerja Tahunan (RKT)"),
)
# PermenPANRB 12/2015: (code, name, weight, [(code, name, weight, score)]); scores total 87.50.
LKE_COMPONENTS = (
    ("A", "Perencanaan Kinerja", "30", (
        ("A.1.a", "Rencana Strategis: pemenuhan", "2", "2.00"),
        ("A.1.b", "Rencana Strategis: kualitas", "5", "4.25"),
        ("A.1.c", "Rencana Strategis: implementasi", "3", "2.25"),
        ("A.2.a", "Perencanaan Kinerja Tahunan: pemenuhan", "4", "4.00"),
        ("A.2.b", "Perencanaan Kinerja Tahunan: kualitas", "10", "8.50"),
        ("A.2.c", "Perencanaan Kinerja Tahunan: implementasi", "6", "5.00"))),
    ("B", "Pengukuran Kinerja", "25", (
        ("B.1", "Pemenuhan pengukuran", "5", "5.00"),
        ("B.2", "Kualitas pengukuran", "12.5", "10.00"),
        ("B.3", "Implementasi pengukuran", "7.5", "6.00"))),
    ("C", "Pelaporan Kinerja", "15", (
        ("C.1", "Pemenuhan pelaporan", "3", "3.00"),
        ("C.2", "Penyajian informasi kinerja", "7.5", "6.25"),
        ("C.3", "Pemanfaatan informasi kinerja", "4.5", "3.75"))),
    ("D", "Evaluasi Internal", "10", (
        ("D.1", "Pemenuhan evaluasi", "2", "2.00"),
        ("D.2", "Kualitas evaluasi", "5", "4.00"),
        ("D.3", "Pemanfaatan hasil evaluasi", "3", "2.50"))),
    ("E", "Capaian Kinerja", "20", (
        ("E.1", "Kinerja yang dilaporkan (output)", "7.5", "7.00"),
        ("E.2", "Kinerja yang dilaporkan (outcome)", "12.5", "12.00"))),
)
OPENED_AT = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)  # 1 April 2026 pukul 08.00 WIB
GENERATED_AT = datetime(2026, 4, 15, 7, 30, tzinfo=UTC)  # 15 April 2026 pukul 14.30 WIB


def sample_cycle_content(bidang: int = 12, document_types: int = 11) -> CycleReportContent:
    """A cycle in step 6 with `bidang` x `document_types` cells of every status, one accepted
    soft copy per submitted-and-accepted cell (a second version for some), two extensions and a
    finished-looking draft LKE."""
    names = [BIDANG_NAMES[i] if i < len(BIDANG_NAMES) else f"Bidang {i + 1}"
             for i in range(bidang)]
    columns = tuple(DocumentTypeColumn(*DOCUMENT_TYPES[j]) if j < len(DOCUMENT_TYPES)
                    else DocumentTypeColumn(f"DOK_{j + 1}", f"Dokumen {j + 1}")
                    for j in range(document_types))
    rows, evidence = [], []
    for i, name in enumerate(names):
        cells = {column.code: _status(i, j) for j, column in enumerate(columns)}
        rows.append(_bidang_row(name, cells))
        for j, column in enumerate(columns):
            if cells[column.code] in (CellStatus.ON_TIME, CellStatus.LATE):
                versions = (1, 2) if (i + j) % 6 == 0 else (1,)
                evidence += [_evidence(name, column, i, j, v) for v in versions]
    if evidence:
        evidence[0] = _replace_title(evidence[0], FORMULA_TITLE)
        evidence[-1] = _replace_filename(evidence[-1], FORMULA_FILENAME)
    return CycleReportContent(
        header=SopHeader(
            dinas=DINAS, sop_name="PENGUMPULAN DATA KINERJA",
            sop_number="Perwali SOP Nomor 104 Tahun 2020", created_on="2020-03-04",
            revised_on=None, effective_on="2020-03-04",
            approver_title=f"Kepala {DINAS} Kota Probolinggo",
            approver_name="DWI HERMANTO, S.Sos, M.Si", year=2026, time_zone=TIME_ZONE),
        cycle_state="active",
        opened_at=OPENED_AT,
        steps=_steps(),
        extensions=(
            ExtensionLine(scope=names[1] if len(names) > 1 else "Semua Bidang",
                          due_at=_at(12, 4, 30), reason=MARKUP_REASON,
                          granted_by="Kasubbag Program", granted_at=_at(8, 2)),
            ExtensionLine(scope="Semua Bidang", due_at=_at(13, 4, 30),
                          reason="=1+1 permintaan Kepala Dinas", granted_by="Kepala Dinas",
                          granted_at=_at(9, 3)),
        ),
        document_types=columns,
        bidang_rows=tuple(rows),
        totals=_totals(rows),
        lke=sample_lke(),
        evidence=tuple(evidence),
    )


def sample_lke() -> LkeSummary:
    components = tuple(
        ScoreLine(code, name, Decimal(weight), sum((Decimal(s) for *_, s in parts), Decimal(0)),
                  tuple(ScoreLine(c, n, Decimal(w), Decimal(s)) for c, n, w, s in parts))
        for code, name, weight, parts in LKE_COMPONENTS)
    total = sum((c.score for c in components), Decimal(0))
    assert total == EXPECTED_TOTAL
    return LkeSummary(
        rubric="LKE AKIP PermenPANRB Nomor 12 Tahun 2015 (versi 1)", state="final",
        components=components, total=total, grade=EXPECTED_GRADE, grade_label="Memuaskan",
        findings=("1. Renstra belum direviu sesuai <b>pedoman</b> terbaru.\n"
                  f"2. Catatan uji: {SCRIPT_FINDING} & sejenisnya tampil apa adanya.\n\n"
                  "=SUM(A1:A9) bukan rumus."),
        recommendations=("1. Reviu Renstra paling lambat triwulan II.\n"
                         "@Kasubbag Program memantau capaian IKU setiap bulan."),
    )


def sample_recap_content(dinas: int = 60) -> CityRecapContent:
    """`dinas` rows: some without a cycle (no LKE), the rest spread over every grade band."""
    rows = []
    for i in range(dinas):
        name = (f"=Dinas {i + 1}" if i == 3 else f"Perangkat Daerah {i + 1:02d} "
                "Kota Probolinggo")
        if i % 9 == 5:
            rows.append(RecapRow(dinas=name, cycle_state="none", steps_completed=0, steps_total=6,
                                 current_step=None, reporting_rate=Decimal("0.00"),
                                 on_time_rate=Decimal("0.00"), total=None, grade=None,
                                 report_approved=False))
            continue
        total = _round(Decimal(25 + (i * 37) % 70) + Decimal(i % 4) / 4)
        done = 6 if i % 3 == 0 else 4 + i % 2
        rows.append(RecapRow(
            dinas=name, cycle_state="completed" if done == 6 else "active",
            steps_completed=done, steps_total=6,
            current_step=None if done == 6 else f"{done + 1}. Tahap {done + 1}",
            reporting_rate=_round(Decimal(60 + (i * 13) % 41)),
            on_time_rate=_round(Decimal(40 + (i * 7) % 61)), total=total, grade=_grade(total),
            report_approved=done == 6))
    return CityRecapContent(city="Kota Probolinggo", year=2026, time_zone=TIME_ZONE,
                            rows=tuple(rows))


# -- helpers --------------------------------------------------------------------------------------

def _status(i: int, j: int) -> CellStatus:
    k = (i * 11 + j * 7) % 20
    if k == 0:
        return CellStatus.MISSING
    if k == 1:
        return CellStatus.NOT_REQUIRED
    if k in (2, 3):
        return CellStatus.LATE
    if k == 4:
        return CellStatus.RETURNED
    return CellStatus.ON_TIME


def _bidang_row(name: str, cells: dict[str, CellStatus]) -> BidangRow:
    statuses = list(cells.values())
    required = sum(1 for s in statuses if s is not CellStatus.NOT_REQUIRED)
    submitted = sum(1 for s in statuses if s in (CellStatus.ON_TIME, CellStatus.LATE,
                                                  CellStatus.RETURNED))
    on_time = statuses.count(CellStatus.ON_TIME)
    return BidangRow(bidang=name, cells=cells, required=required, submitted=submitted,
                     on_time=on_time, reporting_rate=_rate(submitted, required),
                     on_time_rate=_rate(on_time, required))


def _totals(rows: list[BidangRow]) -> Totals:
    statuses = [s for row in rows for s in row.cells.values()]
    required = sum(row.required for row in rows)
    submitted = sum(row.submitted for row in rows)
    on_time = sum(row.on_time for row in rows)
    return Totals(required=required, submitted=submitted, on_time=on_time,
                  late=statuses.count(CellStatus.LATE),
                  returned=statuses.count(CellStatus.RETURNED),
                  missing=statuses.count(CellStatus.MISSING),
                  reporting_rate=_rate(submitted, required), on_time_rate=_rate(on_time, required))


def _evidence(bidang: str, column: DocumentTypeColumn, i: int, j: int,
              version: int) -> EvidenceLine:
    digest = hashlib.sha256(f"{bidang}|{column.code}|{version}".encode()).hexdigest()
    return EvidenceLine(
        bidang=bidang, document_type=column.label,
        title=f"{column.label} {bidang} Tahun 2026",
        filename=f"{column.code.lower()}-{i + 1:02d}-v{version}.pdf", version=version,
        size_bytes=150_000 + 7919 * (i * 11 + j) + version,
        sha256=digest, accepted_at=_at(6 + (i + j) % 5, 2 + j % 6, 5 * version))


def _replace_title(line: EvidenceLine, title: str) -> EvidenceLine:
    return EvidenceLine(line.bidang, line.document_type, title, line.filename, line.version,
                        line.size_bytes, line.sha256, line.accepted_at)


def _replace_filename(line: EvidenceLine, filename: str) -> EvidenceLine:
    return EvidenceLine(line.bidang, line.document_type, line.title, filename, line.version,
                        line.size_bytes, line.sha256, line.accepted_at)


def _steps() -> tuple[StepLine, ...]:
    plan = (
        (1, "Sub Koordinator Program menginformasikan tentang implementasi SAKIP kepada Kepala "
            "Dinas", "Kasubbag Program, Kepala Dinas", "1 jam kerja", "1",
         _at(1, 1), _at(1, 2), _at(1, 1, 45), "0.75", "completed", True),
        (2, "Pembentukan tim evaluasi internal SAKIP melalui SK Kepala Dinas", "Kepala Dinas",
         "1 hari kerja", "8", _at(1, 1, 45), _at(2, 1, 45), _at(1, 8), "6.25", "completed", True),
        (3, "Rapat tim evaluasi internal SAKIP", "Tim Evaluasi", "1 hari kerja", "8",
         _at(1, 8), _at(2, 8), _at(2, 4), "4", "completed", True),
        (4, "Menginformasikan dan meminta data kinerja yang ada pada masing-masing Bidang",
         "Tim Evaluasi, Kasubbag Program", "1 jam kerja", "1", _at(2, 4), _at(2, 5),
         _at(2, 4, 30), "0.5", "completed", True),
        (5, "Pengumpulan data kinerja dari masing-masing Bidang ke Kasubbag Program dan "
            "diteruskan ke tim evaluasi internal SAKIP", "Staf Bidang, Kasubbag Program",
         "5 hari kerja", "40", _at(2, 4, 30), _at(13, 4, 30), _at(14, 3), "46.5", "completed",
         False),
        (6, "Analisa dan Pengolahan Data oleh tim evaluasi internal SAKIP", "Tim Evaluasi",
         "3 hari kerja", "24", _at(14, 3), _at(17, 3), None, "10.5", "active", None),
    )
    return tuple(StepLine(number=n, activity=a, executors=e, planned=p,
                          planned_hours=Decimal(ph), started_at=s, due_at=d, completed_at=c,
                          actual_hours=Decimal(ah), state=st, met=m)
                 for n, a, e, p, ph, s, d, c, ah, st, m in plan)


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in April 2026, UTC (WIB is UTC+7)."""
    return datetime(2026, 4, day, tzinfo=UTC) + timedelta(hours=hour, minutes=minute)


def _rate(part: int, whole: int) -> Decimal:
    return _round(Decimal(part * 100) / whole) if whole else Decimal("0.00")


def _round(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _grade(total: Decimal) -> str:
    for grade, above in (("AA", 90), ("A", 80), ("BB", 70), ("B", 60), ("CC", 50), ("C", 30)):
        if total > above:
            return grade
    return "D"
