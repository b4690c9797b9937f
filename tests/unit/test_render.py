"""The report renderers (services/reporting/render): the PDF read back with pypdf, the XLSX with
openpyxl, on hand-built content (tests/report_samples.py) full of hostile text."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from pypdf import PdfReader

from services.reporting import render
from services.reporting.content import CityRecapContent, CycleReportContent, Totals
from services.reporting.render import words
from services.reporting.render.xlsx import safe_cell
from tests.report_samples import (
    DINAS,
    EXPECTED_GRADE,
    FORMULA_FILENAME,
    FORMULA_TITLE,
    GENERATED_AT,
    MARKUP_REASON,
    SCRIPT_FINDING,
    sample_cycle_content,
    sample_recap_content,
)

CYCLE_SHEETS = ["Ringkasan", "Tahapan", "Matriks", "LKE", "Temuan", "Lampiran Bukti"]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def workbook(data: bytes) -> Workbook:
    return load_workbook(io.BytesIO(data))


def wall_clock(*parts: int) -> datetime:
    """A naive datetime, as Excel holds one (read back by openpyxl)."""
    return datetime(*parts, tzinfo=UTC).replace(tzinfo=None)


def flat(text: str) -> str:
    """Extracted text with line breaks and runs of spaces made single spaces."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def content() -> CycleReportContent:
    return sample_cycle_content()


@pytest.fixture(scope="module")
def cycle_pdf(content) -> bytes:
    return render.cycle_report_pdf(content, generated_at=GENERATED_AT)


@pytest.fixture(scope="module")
def cycle_xlsx(content) -> bytes:
    return render.cycle_report_xlsx(content, generated_at=GENERATED_AT)


def empty_content() -> CycleReportContent:
    """No Bidang, no document types, no extensions, no LKE, no evidence."""
    return dataclasses.replace(
        sample_cycle_content(bidang=0, document_types=0), extensions=(), lke=None,
        totals=Totals(0, 0, 0, 0, 0, 0, Decimal("0.00"), Decimal("0.00")))


# -- safe_cell ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("=1+1", "'=1+1"),
    ("+62 811", "'+62 811"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=cmd", "'\t=cmd"),
    ("\r=cmd", "'\r=cmd"),
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("Dinas = Bidang", "Dinas = Bidang"),
    ("-", "-"),
    ("", ""),
    ("a\x00b\x0bc", "abc"),
])
def test_safe_cell_neutralises_formula_starts(text, expected):
    assert safe_cell(text) == expected


def test_safe_cell_caps_text_at_excels_cell_limit():
    assert len(safe_cell("x" * 40_000)) == 32767


# -- cycle report PDF -----------------------------------------------------------------------------

def test_cycle_pdf_names_the_report_the_dinas_the_score_and_the_grade(cycle_pdf):
    text = flat(pdf_text(cycle_pdf))
    assert words.REPORT_TITLE in text
    assert DINAS in text
    assert "Perwali SOP Nomor 104 Tahun 2020" in text
    assert "87,50" in text
    assert f"{EXPECTED_GRADE} (Memuaskan)" in text
    assert "1 April 2026 pukul 08.00 WIB" in text  # opened_at, 01.00 UTC
    assert "Dibuat pada 15 April 2026 pukul 14.30 WIB" in text
    assert "DWI HERMANTO, S.Sos, M.Si" in text  # the signature block
    assert "Menyetujui," in text


def test_cycle_pdf_shows_the_matrix_cells_rates_and_totals(cycle_pdf, content):
    text = pdf_text(cycle_pdf)
    for label in ("Tepat waktu", "Terlambat", "Dikembalikan", "Tidak ada"):
        assert label in text
    assert "93,65%" in text
    assert "76,98%" in text
    assert f"{content.totals.submitted}/{content.totals.required}" in text


def test_cycle_pdf_shows_steps_deadlines_and_extension_reasons_literally(cycle_pdf):
    text = flat(pdf_text(cycle_pdf))
    assert "Terlewati" in text
    assert "Terpenuhi" in text
    assert "46,50 jam kerja" in text
    assert flat(MARKUP_REASON) in text  # "<b>kantor</b>" printed, not made bold


def test_cycle_pdf_prints_markup_in_findings_as_typed(cycle_pdf):
    text = pdf_text(cycle_pdf)
    assert SCRIPT_FINDING in text
    assert "<b>pedoman</b>" in text


def test_cycle_pdf_keeps_every_sha256_in_one_piece(cycle_pdf, content):
    text = pdf_text(cycle_pdf)
    assert len(content.evidence) > 100
    for line in content.evidence:
        assert re.search(rf"(?<![0-9a-f]){line.sha256}(?![0-9a-f])", text), line.sha256
    assert FORMULA_TITLE in text


def test_cycle_pdf_is_a4_with_the_matrix_on_a_landscape_page_and_numbered_pages(cycle_pdf):
    reader = PdfReader(io.BytesIO(cycle_pdf))
    sizes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height)))
             for p in reader.pages]
    assert sizes[0] == (595, 842)
    assert (842, 595) in sizes
    matrix_page = next(i for i, p in enumerate(reader.pages) if "Matriks kelengkapan" in
                       p.extract_text())
    assert sizes[matrix_page] == (842, 595)
    total = len(reader.pages)
    assert f"Halaman 1 dari {total}" in reader.pages[0].extract_text()
    assert f"Halaman {total} dari {total}" in reader.pages[-1].extract_text()


def test_cycle_pdf_is_the_same_bytes_for_the_same_inputs(content, cycle_pdf):
    assert render.cycle_report_pdf(content, generated_at=GENERATED_AT) == cycle_pdf
    metadata = PdfReader(io.BytesIO(cycle_pdf)).metadata
    assert metadata is not None
    assert metadata["/CreationDate"].startswith("D:20260415073000")


def test_cycle_pdf_without_lke_says_so(content):
    text = pdf_text(render.cycle_report_pdf(dataclasses.replace(content, lke=None),
                                            generated_at=GENERATED_AT))
    assert text.count(words.LKE_MISSING) >= 2  # summary, LKE section, findings section
    assert "87,50" not in text


def test_cycle_pdf_of_an_empty_cycle_still_renders():
    text = pdf_text(render.cycle_report_pdf(empty_content(), generated_at=GENERATED_AT))
    assert "Belum ada Bidang dalam siklus ini." in text
    assert "Tidak ada bukti dokumen yang diterima." in text
    assert "Tidak ada perpanjangan batas waktu." in text
    assert words.LKE_MISSING in text


def test_cycle_pdf_survives_hostile_and_odd_text(content):
    header = dataclasses.replace(content.header, dinas="<b>Dinas</b> & <script>x</script>\x0b",
                                 approver_name="</para><para>Nama \u015eeker \u2713 \U0001f600",
                                 time_zone="Asia/Makassar")
    odd = dataclasses.replace(content, header=header, lke=dataclasses.replace(
        content.lke, findings="x" * 20_000 + "\n" + "<![CDATA[" + "y " * 3000,
        recommendations=""))
    text = flat(pdf_text(render.cycle_report_pdf(odd, generated_at=GENERATED_AT)))
    assert "<b>Dinas</b> & <script>x</script>" in text
    assert "</para><para>Nama" in text
    assert "15 April 2026 pukul 15.30 WITA" in text


# -- cycle report XLSX ----------------------------------------------------------------------------

def test_cycle_xlsx_has_one_sheet_per_section_with_frozen_headers(cycle_xlsx):
    book = workbook(cycle_xlsx)
    assert book.sheetnames == CYCLE_SHEETS
    for sheet in book.worksheets:
        assert sheet.freeze_panes in ("A2", "B2")
    assert book["Matriks"].freeze_panes == "B2"


def test_cycle_xlsx_scores_are_numbers_with_two_decimals(cycle_xlsx, content):
    sheet = workbook(cycle_xlsx)["LKE"]
    rows = {row[1].value: row for row in sheet.iter_rows(min_row=2, max_col=5)}
    total = rows["Nilai total"][4]
    assert total.data_type == "n"
    assert total.value == pytest.approx(87.5)
    assert total.number_format == "0.00"
    assert rows["Predikat"][4].value == EXPECTED_GRADE
    first = content.lke.components[0]
    assert rows[first.name][3].value == pytest.approx(float(first.weight))
    assert rows[first.name][4].value == pytest.approx(float(first.score))
    assert len(sheet._charts) == 1


def test_cycle_xlsx_matrix_has_labels_fills_and_numeric_rates(cycle_xlsx, content):
    sheet = workbook(cycle_xlsx)["Matriks"]
    header = [c.value for c in sheet[1]]
    assert header[1:1 + len(content.document_types)] == [d.label for d in content.document_types]
    row = content.bidang_rows[0]
    cells = {c.value for c in sheet[2]}
    assert {s.label for s in row.cells.values()} <= cells
    late = next(c for r in sheet.iter_rows(min_row=2) for c in r if c.value == "Terlambat")
    assert late.fill.fgColor.rgb.endswith("FFEB9C")
    rate_column = header.index("Tingkat pelaporan (%)") + 1
    assert sheet.cell(2, rate_column).value == pytest.approx(float(row.reporting_rate))
    totals = [c.value for c in sheet[len(content.bidang_rows) + 2]]
    assert totals[0] == words.WHOLE_DINAS
    assert totals[rate_column - 1] == pytest.approx(float(content.totals.reporting_rate))
    assert totals[header.index("Wajib")] == content.totals.required


def test_cycle_xlsx_moments_are_local_datetimes_without_time_zone(cycle_xlsx, content):
    book = workbook(cycle_xlsx)
    started = book["Tahapan"]["F2"]
    assert started.value == wall_clock(2026, 4, 1, 8, 0)  # 01.00 UTC is 08.00 WIB
    assert started.value.tzinfo is None
    assert started.is_date
    summary = {row[0].value: row[1].value for row in book["Ringkasan"].iter_rows(min_row=2)}
    assert summary["Dibuat pada"] == wall_clock(2026, 4, 15, 14, 30)
    assert summary["Zona waktu"] == "Asia/Jakarta"
    assert summary["Nilai LKE"] == pytest.approx(87.5)
    assert summary["Terlambat"] == content.totals.late
    assert summary["Tanggal pembuatan"].date() == date(2020, 3, 4)


def test_cycle_xlsx_neutralises_formula_injection_in_every_text(cycle_xlsx):
    book = workbook(cycle_xlsx)
    texts = [c.value for sheet in book.worksheets for row in sheet.iter_rows() for c in row
             if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(("=", "+", "@", "\t", "\r"))]
    assert not [t for t in texts if t.startswith("-") and t != "-"]
    assert "'" + FORMULA_TITLE in texts
    assert "'" + FORMULA_FILENAME in texts
    assert "'=1+1 permintaan Kepala Dinas" in texts
    assert "'@Subbagian Keuangan" in texts
    assert "'=SUM(A1:A9) bukan rumus." in texts
    assert not [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row
                if c.data_type == "f"]


def test_cycle_xlsx_lists_every_evidence_line_with_its_sha256(cycle_xlsx, content):
    sheet = workbook(cycle_xlsx)["Lampiran Bukti"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [r[7] for r in rows] == [e.sha256 for e in content.evidence]
    assert rows[0][6] == content.evidence[0].size_bytes


def test_cycle_xlsx_is_the_same_bytes_for_the_same_inputs(content, cycle_xlsx):
    assert render.cycle_report_xlsx(content, generated_at=GENERATED_AT) == cycle_xlsx


def test_cycle_xlsx_without_lke_and_of_an_empty_cycle_still_renders(content):
    book = workbook(render.cycle_report_xlsx(dataclasses.replace(content, lke=None),
                                             generated_at=GENERATED_AT))
    assert book["LKE"]["A2"].value == words.LKE_MISSING
    assert book["Temuan"]["A2"].value == words.LKE_MISSING
    empty = workbook(render.cycle_report_xlsx(empty_content(), generated_at=GENERATED_AT))
    assert empty.sheetnames == CYCLE_SHEETS
    assert empty["Lampiran Bukti"].max_row == 1
    assert empty["Matriks"]["A2"].value == words.WHOLE_DINAS


# -- city recap -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def recap() -> CityRecapContent:
    return sample_recap_content(dinas=60)


def test_recap_pdf_lists_every_dinas_on_landscape_pages_with_charts(recap):
    data = render.city_recap_pdf(recap, generated_at=GENERATED_AT)
    reader = PdfReader(io.BytesIO(data))
    assert all(p.mediabox.width > p.mediabox.height for p in reader.pages)
    text = pdf_text(data)
    assert words.RECAP_TITLE in text
    assert "Kota Probolinggo" in text
    for row in recap.rows:
        assert row.dinas in text
    scored = next(r for r in recap.rows if r.total is not None)
    assert words.number(scored.total) in text
    assert "Belum ada siklus" in text
    assert words.LKE_MISSING in text
    assert "Nilai LKE per perangkat daerah" in text


def test_recap_xlsx_has_numbers_a_chart_and_neutralised_names(recap):
    book = workbook(render.city_recap_xlsx(recap, generated_at=GENERATED_AT))
    assert book.sheetnames == ["Ringkasan", "Rekap", "Grafik"]
    sheet = book["Rekap"]
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 60
    for row, expected in zip(rows, recap.rows, strict=True):
        assert row[3] == expected.steps_completed
        assert row[4] == expected.steps_total
        assert row[6] == pytest.approx(float(expected.reporting_rate))
        assert (row[8] is None) if expected.total is None else \
            row[8] == pytest.approx(float(expected.total))
    assert rows[3][1] == "'=Dinas 4"
    assert len(book["Grafik"]._charts) == 1


def test_recap_of_no_dinas_still_renders():
    empty = CityRecapContent(city="Kota Probolinggo", year=2026, time_zone="Asia/Jakarta")
    assert "Belum ada perangkat daerah" in pdf_text(
        render.city_recap_pdf(empty, generated_at=GENERATED_AT))
    book = workbook(render.city_recap_xlsx(empty, generated_at=GENERATED_AT))
    assert book["Rekap"].max_row == 1


def test_renderer_version_is_exported():
    assert render.RENDERER_VERSION == "1"

