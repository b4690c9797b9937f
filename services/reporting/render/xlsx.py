"""The reports as XLSX workbooks (openpyxl), for the people who re-use the numbers: one sheet per
section, each a plain table with its header in row 1 (frozen, filterable), numbers as numeric cells
(scores and rates with two decimals), moments as real Excel datetimes in the tenant's time zone
(Excel has no time zones, so the zone is named in the Ringkasan sheet), native bar charts.

Every text cell is written through `safe_cell`, which neutralises spreadsheet formula injection: a
name, title, finding or file name starting with = + - @, tab or CR gets a leading apostrophe, so
neither Excel nor a CSV export of the sheet ever evaluates it.

Given the same content and `generated_at` the bytes are the same (fixed document dates and zip
entry times): a rebuild of the same inputs rewrites an identical file.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from services.reporting.content import (
    CellStatus,
    CityRecapContent,
    CycleReportContent,
    LkeSummary,
    ScoreLine,
)
from services.reporting.render import charts, words

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 (hence XLSX) cannot carry; openpyxl refuses them.
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
CELL_LIMIT = 32767  # Excel's longest cell text
SCORE_FORMAT = "0.00"
MOMENT_FORMAT = "dd/mm/yyyy hh:mm"
DAY_FORMAT = "dd/mm/yyyy"
BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor=charts.HEADER_FILL)
WRAP = Alignment(wrap_text=True, vertical="top")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="center")
THIN = Side(style="thin", color="A6A6A6")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
FILLS = {status: PatternFill("solid", fgColor=hex_rgb) for status, hex_rgb in
         charts.CELL_FILLS.items()}

Value = str | int | Decimal | datetime | date | None


def safe_cell(text: str) -> str:
    """Text as a spreadsheet may hold it without ever running it: characters XML cannot carry
    dropped, the length capped at Excel's limit, and a leading = + - @ tab or CR (what starts a
    formula, in Excel or in a CSV export) neutralised by a leading apostrophe. A lone "-", the
    reports' "nothing", carries no formula and is left as it is."""
    cleaned = ILLEGAL.sub("", text)
    if cleaned.startswith(FORMULA_STARTS) and cleaned != words.NOTHING:
        cleaned = "'" + cleaned
    return cleaned[:CELL_LIMIT]


# -- the two reports ------------------------------------------------------------------------------

def cycle_report_xlsx(content: CycleReportContent, *, generated_at: datetime) -> bytes:
    """Sheets Ringkasan, Tahapan, Matriks, LKE, Temuan and Lampiran Bukti."""
    workbook = Workbook()
    zone = content.header.time_zone
    _summary_sheet(workbook.active, content, generated_at)
    _steps_sheet(workbook.create_sheet(words.STEPS), content, zone)
    _matrix_sheet(workbook.create_sheet(words.MATRIX), content)
    _lke_sheet(workbook.create_sheet(words.LKE), content.lke)
    _findings_sheet(workbook.create_sheet(words.FINDINGS), content.lke)
    _evidence_sheet(workbook.create_sheet(words.EVIDENCE), content, zone)
    title = f"{words.REPORT_TITLE} {content.header.dinas} {content.header.year}"
    return _save(workbook, title=title, generated_at=generated_at)


def city_recap_xlsx(content: CityRecapContent, *, generated_at: datetime) -> bytes:
    """Sheets Ringkasan, Rekap (one row per dinas) and Grafik (LKE totals per dinas)."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = words.SUMMARY
    _key_values(summary, [
        ("Judul", words.RECAP_TITLE),
        ("Kota", content.city),
        ("Tahun", content.year),
        ("Jumlah perangkat daerah", len(content.rows)),
        ("Laporan disetujui", sum(1 for row in content.rows if row.report_approved)),
        ("Dibuat pada", _local(generated_at, content.time_zone)),
        ("Zona waktu", content.time_zone),
    ])
    recap = workbook.create_sheet(words.RECAP)
    head = ["No", "Perangkat daerah", "Status siklus", "Tahapan selesai", "Jumlah tahapan",
            "Tahap berjalan", "Tingkat pelaporan (%)", "Ketepatan waktu (%)", "Nilai LKE",
            "Predikat", "Laporan disetujui"]
    _header(recap, head, widths=[6, 48, 16, 10, 10, 34, 12, 12, 10, 10, 11])
    for number, row in enumerate(content.rows, start=1):
        _row(recap, number + 1, [
            number, row.dinas, words.label(words.CYCLE_STATES, row.cycle_state),
            row.steps_completed, row.steps_total, row.current_step or words.NOTHING,
            row.reporting_rate, row.on_time_rate, row.total, row.grade or words.NOTHING,
            words.yes_no(row.report_approved)])
    _table_end(recap, rows=len(content.rows), columns=len(head))
    chart = workbook.create_sheet(words.CHART)
    if content.rows:
        charts.recap_bar_chart(chart, data=recap, name_column=2, total_column=9,
                               rows=len(content.rows))
    else:
        _write(chart, 1, 1, "Belum ada perangkat daerah untuk tahun ini.")
    title = f"{words.RECAP_TITLE} {content.city} {content.year}"
    return _save(workbook, title=title, generated_at=generated_at)


# -- cycle report sheets --------------------------------------------------------------------------

def _summary_sheet(sheet: Worksheet, content: CycleReportContent, generated_at: datetime) -> None:
    header, totals, lke = content.header, content.totals, content.lke
    zone = header.time_zone
    sheet.title = words.SUMMARY
    rows: list[tuple[str, Value]] = [
        ("Judul", words.REPORT_TITLE),
        ("Perangkat daerah", header.dinas),
        ("Nama SOP", header.sop_name),
        ("Nomor SOP", header.sop_number),
        ("Tanggal pembuatan", _sop_day(header.created_on)),
        ("Tanggal revisi", _sop_day(header.revised_on)),
        ("Tanggal efektif", _sop_day(header.effective_on)),
        ("Jabatan pengesah", header.approver_title),
        ("Nama pengesah", header.approver_name),
        ("Tahun siklus", header.year),
        ("Status siklus", words.label(words.CYCLE_STATES, content.cycle_state)),
        ("Siklus dibuka", _local(content.opened_at, zone)),
        ("Dibuat pada", _local(generated_at, zone)),
        ("Zona waktu", zone),
        ("Dokumen wajib", totals.required),
        ("Dokumen diserahkan", totals.submitted),
        ("Tepat waktu", totals.on_time),
        ("Terlambat", totals.late),
        ("Dikembalikan", totals.returned),
        ("Tidak ada", totals.missing),
        ("Tingkat pelaporan (%)", totals.reporting_rate),
        ("Ketepatan waktu (%)", totals.on_time_rate),
    ]
    if lke is None:
        rows.append(("Nilai LKE", words.LKE_MISSING))
    else:
        rows += [("Instrumen LKE", lke.rubric),
                 ("Status LKE", words.label(words.LKE_STATES, lke.state)),
                 ("Nilai LKE", lke.total), ("Predikat", lke.grade),
                 ("Keterangan predikat", lke.grade_label)]
    _key_values(sheet, rows)


def _steps_sheet(sheet: Worksheet, content: CycleReportContent, zone: str) -> None:
    head = ["No", "Kegiatan", "Pelaksana", "Rencana", "Rencana (jam kerja)", "Mulai",
            "Batas waktu", "Selesai", "Realisasi (jam kerja)", "Status",
            "Batas waktu terpenuhi"]
    _header(sheet, head, widths=[6, 60, 30, 16, 12, 17, 17, 17, 12, 14, 14])
    for index, step in enumerate(content.steps, start=2):
        _row(sheet, index, [
            step.number, step.activity, step.executors, step.planned, step.planned_hours,
            _local(step.started_at, zone), _local(step.due_at, zone),
            _local(step.completed_at, zone), step.actual_hours,
            words.label(words.STEP_STATES, step.state), words.deadline(step.met)])
    top = len(content.steps) + 3
    _write(sheet, top, 1, "Perpanjangan batas waktu", font=BOLD)
    if not content.extensions:
        _write(sheet, top + 1, 1, "Tidak ada perpanjangan batas waktu.")
        return
    head = ["Lingkup", "Batas waktu baru", "Alasan", "Diberikan oleh", "Diberikan pada"]
    for column, title in enumerate(head, start=1):
        _write(sheet, top + 1, column, title, font=BOLD, fill=HEADER_FILL)
    for index, extension in enumerate(content.extensions, start=top + 2):
        _row(sheet, index, [extension.scope, _local(extension.due_at, zone), extension.reason,
                            extension.granted_by, _local(extension.granted_at, zone)])


def _matrix_sheet(sheet: Worksheet, content: CycleReportContent) -> None:
    columns = content.document_types
    head = ["Bidang", *(c.label for c in columns), "Wajib", "Diserahkan", "Tepat waktu",
            "Tingkat pelaporan (%)", "Ketepatan waktu (%)"]
    _header(sheet, head, widths=[40, *([14] * len(columns)), 9, 11, 11, 12, 12], freeze="B2")
    for index, row in enumerate(content.bidang_rows, start=2):
        statuses = [row.cells.get(c.code, CellStatus.NOT_REQUIRED) for c in columns]
        _row(sheet, index, [row.bidang, *(s.label for s in statuses), row.required,
                            row.submitted, row.on_time, row.reporting_rate, row.on_time_rate])
        for column, status in enumerate(statuses, start=2):
            sheet.cell(index, column).fill = FILLS[status]
    totals, last = content.totals, len(content.bidang_rows) + 2
    _row(sheet, last, [words.WHOLE_DINAS, *([None] * len(columns)), totals.required,
                       totals.submitted, totals.on_time, totals.reporting_rate,
                       totals.on_time_rate], font=BOLD)
    if content.bidang_rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(head))}{last - 1}"


def _lke_sheet(sheet: Worksheet, lke: LkeSummary | None) -> None:
    head = ["Kode", "Komponen / sub-komponen", "Tingkat", "Bobot", "Nilai"]
    _header(sheet, head, widths=[10, 60, 14, 10, 10])
    if lke is None:
        _write(sheet, 2, 1, words.LKE_MISSING)
        return
    row = 2
    for component in lke.components:
        _row(sheet, row, [component.code, component.name, "Komponen", component.weight,
                          component.score], font=BOLD)
        row += 1
        for part in component.parts:
            _row(sheet, row, [part.code, part.name, "Sub-komponen", part.weight, part.score])
            row += 1
    row += 1
    for title, value in (("Nilai total", lke.total), ("Predikat", lke.grade),
                         ("Keterangan predikat", lke.grade_label), ("Instrumen", lke.rubric),
                         ("Status", words.label(words.LKE_STATES, lke.state))):
        _row(sheet, row, [None, title, None, None, value], font=BOLD)
        row += 1
    if lke.components:
        _component_chart_data(sheet, lke.components, column=7)


def _component_chart_data(sheet: Worksheet, components: Sequence[ScoreLine], *,
                          column: int) -> None:
    """A contiguous block (component, weight, score) beside the table for the native chart."""
    for offset, title in enumerate(("Komponen", "Bobot", "Nilai")):
        _write(sheet, 1, column + offset, title, font=BOLD, fill=HEADER_FILL)
        sheet.column_dimensions[get_column_letter(column + offset)].width = 30 if offset == 0 \
            else 10
    for index, component in enumerate(components, start=2):
        _row(sheet, index, [f"{component.code}. {component.name}", component.weight,
                            component.score], first_column=column)
    last = len(components) + 1
    charts.component_bar_chart(sheet, first_row=1, last_row=last, category_column=column,
                               anchor=f"{get_column_letter(column)}{last + 2}")


def _findings_sheet(sheet: Worksheet, lke: LkeSummary | None) -> None:
    """One row per line of text, so a long finding stays readable and filterable."""
    _header(sheet, ["Bagian", "No", "Isi"], widths=[14, 6, 110])
    if lke is None:
        _write(sheet, 2, 1, words.LKE_MISSING)
        return
    row = 2
    for title, text in (("Temuan", lke.findings), ("Rekomendasi", lke.recommendations)):
        lines = [line.strip() for line in text.splitlines() if line.strip()] or [words.NOTHING]
        for number, line in enumerate(lines, start=1):
            _row(sheet, row, [title, number, line])
            row += 1


def _evidence_sheet(sheet: Worksheet, content: CycleReportContent, zone: str) -> None:
    head = ["No", "Bidang", "Jenis dokumen", "Judul", "Nama berkas", "Versi", "Ukuran (byte)",
            "SHA-256", "Diterima pada"]
    _header(sheet, head, widths=[6, 36, 30, 44, 36, 7, 13, 68, 17])
    for number, line in enumerate(content.evidence, start=1):
        _row(sheet, number + 1, [number, line.bidang, line.document_type, line.title,
                                 line.filename, line.version, line.size_bytes, line.sha256,
                                 _local(line.accepted_at, zone)])
    _table_end(sheet, rows=len(content.evidence), columns=len(head))


# -- cells ----------------------------------------------------------------------------------------

def _write(sheet: Worksheet, row: int, column: int, value: Value, *, font: Font | None = None,
           fill: PatternFill | None = None) -> Cell:
    """The one way a value reaches a cell: text through `safe_cell`, numbers as numbers (scores
    with two decimals), datetimes and days as Excel dates."""
    cell = sheet.cell(row, column)
    if isinstance(value, str):
        cell.value = safe_cell(value)
        cell.data_type = "s"  # never a formula, whatever the text
        if len(value) > 40 or "\n" in value:
            cell.alignment = WRAP
    elif isinstance(value, bool):
        cell.value = safe_cell(words.yes_no(value))
    elif isinstance(value, Decimal):
        cell.value = value
        cell.number_format = SCORE_FORMAT
    elif isinstance(value, datetime):
        cell.value = value
        cell.number_format = MOMENT_FORMAT
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = DAY_FORMAT
    else:
        cell.value = value
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    return cell


def _row(sheet: Worksheet, row: int, values: Sequence[Value], *, font: Font | None = None,
         first_column: int = 1) -> None:
    for column, value in enumerate(values, start=first_column):
        _write(sheet, row, column, value, font=font)


def _header(sheet: Worksheet, titles: Sequence[str], *, widths: Sequence[float],
            freeze: str = "A2") -> None:
    for column, (title, width) in enumerate(zip(titles, widths, strict=True), start=1):
        cell = _write(sheet, 1, column, title, font=BOLD, fill=HEADER_FILL)
        cell.alignment = HEADER_ALIGNMENT
        cell.border = BOX
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = freeze


def _table_end(sheet: Worksheet, *, rows: int, columns: int) -> None:
    if rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(columns)}{rows + 1}"


def _key_values(sheet: Worksheet, rows: Sequence[tuple[str, Value]]) -> None:
    _header(sheet, ["Uraian", "Nilai"], widths=[28, 90])
    for index, (key, value) in enumerate(rows, start=2):
        _write(sheet, index, 1, key, font=BOLD)
        cell = _write(sheet, index, 2, value)
        cell.alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)


def _local(value: datetime | None, zone: str) -> datetime | None:
    """A moment as the tenant's wall-clock time, without tzinfo (Excel has no time zones)."""
    return None if value is None else value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def _sop_day(value: str | None) -> date | str | None:
    return words.iso_day(value) or value


# -- saving ---------------------------------------------------------------------------------------

def _save(workbook: Workbook, *, title: str, generated_at: datetime) -> bytes:
    moment = _local(generated_at, "UTC")
    assert moment is not None
    workbook.properties.title = safe_cell(title)
    workbook.properties.creator = "Platform SAKIP"
    workbook.properties.created = workbook.properties.modified = moment
    buffer = io.BytesIO()
    archive = _StampedZip(buffer, stamp=moment)
    ExcelWriter(workbook, archive).save()
    return buffer.getvalue()


class _StampedZip(ZipFile):
    """A zip whose entries all carry one fixed time, not the moment they were written."""

    def __init__(self, file: io.BytesIO, *, stamp: datetime) -> None:
        super().__init__(file, "w", ZIP_DEFLATED)
        self._stamp = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute,
                       stamp.second)

    def writestr(self, zinfo_or_arcname: str | ZipInfo, data: bytes | str,  # type: ignore[override]
                 compress_type: int | None = None, compresslevel: int | None = None) -> None:
        if isinstance(zinfo_or_arcname, str):
            info = ZipInfo(zinfo_or_arcname, date_time=self._stamp)
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename: str | os.PathLike[str],
              arcname: str | os.PathLike[str] | None = None, compress_type: int | None = None,
              compresslevel: int | None = None) -> None:
        with open(filename, "rb") as source:
            self.writestr(os.fspath(arcname if arcname is not None else filename), source.read())
