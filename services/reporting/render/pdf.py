"""The reports as PDF (reportlab Platypus, A4): the cycle report that the kepala_dinas signs and the
archive keeps, and the city recap (landscape).

Everything a user typed (names, titles, reasons, findings) reaches a Paragraph only through
`_text`, which escapes reportlab's markup: "<b>" or "<script>" in a finding is printed as typed and
cannot break the build. Text goes in the standard Helvetica/Courier fonts (nothing to embed, so the
files stay small and quick to build); SHA-256 digests are set in Courier, small enough never to
wrap, so a reader (or pypdf) gets each one back as a single string.

Given the same content and `generated_at` the bytes are the same (reportlab's invariant mode, with
the document dates set to `generated_at`): a rebuild of the same inputs rewrites identical files.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
)

from services.reporting.content import (
    BidangRow,
    CellStatus,
    CityRecapContent,
    CycleReportContent,
    EvidenceLine,
    LkeSummary,
    RecapRow,
    StepLine,
)
from services.reporting.render import charts, words
from shared.i18n import format_bytes

MARGIN = 1.5 * cm
PORTRAIT, LANDSCAPE = "portrait", "landscape"
PORTRAIT_WIDTH = A4[0] - 2 * MARGIN
LANDSCAPE_WIDTH = A4[1] - 2 * MARGIN
LANDSCAPE_HEIGHT = A4[0] - 2 * MARGIN
MONO = "Courier"
DIGEST_SIZE = 6.5  # 64 Courier characters in 250 pt: one line in the annex's digest column
CELL_TEXT_LIMIT = 600  # table rows never split, so none may outgrow a page; the XLSX has it all
# Characters no PDF text should carry (C0 controls but tab and newline, DEL, C1 controls).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
GRID = colors.HexColor("#A6A6A6")


def _style(name: str, **kwargs: Any) -> ParagraphStyle:
    base: dict[str, Any] = {"fontName": "Helvetica", "fontSize": 8.5, "leading": 11}
    return ParagraphStyle(name, **(base | kwargs))


BODY = _style("body", spaceAfter=4)
TITLE = _style("title", fontName="Helvetica-Bold", fontSize=16, leading=20, alignment=TA_CENTER,
               spaceAfter=4)
SUBTITLE = _style("subtitle", fontSize=11, leading=14, alignment=TA_CENTER, spaceAfter=2)
NOTE = _style("note", fontSize=7.5, leading=9.5, alignment=TA_CENTER, spaceAfter=10,
              textColor=colors.HexColor("#595959"))
HEADING = _style("heading", fontName="Helvetica-Bold", fontSize=11.5, leading=14, spaceBefore=10,
                 spaceAfter=6, keepWithNext=1)
SUBHEADING = _style("subheading", fontName="Helvetica-Bold", fontSize=9.5, leading=12,
                    spaceBefore=6, spaceAfter=3, keepWithNext=1)
CELL = _style("cell", fontSize=7.5, leading=9)
CELL_BOLD = _style("cell_bold", fontName="Helvetica-Bold", fontSize=7.5, leading=9)
CELL_CENTER = _style("cell_center", fontSize=7.5, leading=9, alignment=TA_CENTER)
CELL_RIGHT = _style("cell_right", fontSize=7.5, leading=9, alignment=TA_RIGHT)
HEAD = _style("head", fontName="Helvetica-Bold", fontSize=7.5, leading=9)
HEAD_CENTER = _style("head_center", fontName="Helvetica-Bold", fontSize=7.5, leading=9,
                     alignment=TA_CENTER)
MATRIX_HEAD = _style("matrix_head", fontName="Helvetica-Bold", fontSize=6.5, leading=7.5,
                     alignment=TA_CENTER)
MATRIX_NAME = _style("matrix_name", fontSize=6.5, leading=7.5)
MATRIX_CELL = _style("matrix_cell", fontSize=6.5, leading=7.5, alignment=TA_CENTER)
SIGNATURE = _style("signature", fontSize=9, leading=12, alignment=TA_CENTER)
SIGNATURE_NAME = _style("signature_name", fontName="Helvetica-Bold", fontSize=9, leading=12,
                        alignment=TA_CENTER)


# -- the two reports ------------------------------------------------------------------------------

def cycle_report_pdf(content: CycleReportContent, *, generated_at: datetime) -> bytes:
    """The "Laporan Hasil Evaluasi SAKIP Internal" of one cycle: SOP header and summary, the six
    steps planned vs actual, the matrix (landscape page), the LKE with its chart, findings and
    recommendations, the kepala_dinas' signature block, then the evidence annex."""
    header, zone = content.header, content.header.time_zone
    story: list[Flowable] = [
        Paragraph(escape(words.REPORT_TITLE), TITLE),
        Paragraph(_text(header.dinas), SUBTITLE),
        Paragraph(f"Tahun {header.year}", SUBTITLE),
        Paragraph(_text(words.generated(generated_at, zone)), NOTE),
        *_summary_section(content),
        *_steps_section(content),
        NextPageTemplate(LANDSCAPE), PageBreak(),
        *_matrix_section(content),
        NextPageTemplate(PORTRAIT), PageBreak(),
        *_lke_section(content.lke),
        *_findings_section(content.lke),
        _signature(content, generated_at),
        PageBreak(),
        *_evidence_section(content.evidence, zone),
    ]
    footer = f"{words.REPORT_TITLE} \u00b7 {header.dinas} \u00b7 Tahun {header.year}"
    return _build(story, first=PORTRAIT, footer=footer, generated_at=generated_at,
                  title=f"{words.REPORT_TITLE} {header.dinas} {header.year}",
                  subject=header.sop_name)


def city_recap_pdf(content: CityRecapContent, *, generated_at: datetime) -> bytes:
    """Every dinas of a year side by side (landscape), then the LKE totals as bar charts."""
    story: list[Flowable] = [
        Paragraph(escape(words.RECAP_TITLE), TITLE),
        Paragraph(f"{_text(content.city)} \u00b7 Tahun {content.year}", SUBTITLE),
        Paragraph(_text(words.generated(generated_at, content.time_zone)), NOTE),
    ]
    if content.rows:
        story += [_recap_table(content.rows), PageBreak(),
                  Paragraph("Nilai LKE per perangkat daerah", HEADING)]
        drawings = charts.recap_charts(content.rows, width=LANDSCAPE_WIDTH,
                                       height=LANDSCAPE_HEIGHT - 40)
        for index, drawing in enumerate(drawings):
            story += [drawing] if index == 0 else [PageBreak(), drawing]
    else:
        story.append(Paragraph("Belum ada perangkat daerah untuk tahun ini.", BODY))
    footer = f"{words.RECAP_TITLE} \u00b7 {content.city} \u00b7 Tahun {content.year}"
    return _build(story, first=LANDSCAPE, footer=footer, generated_at=generated_at,
                  title=f"{words.RECAP_TITLE} {content.city} {content.year}",
                  subject=words.RECAP_TITLE)


# -- cycle report sections ------------------------------------------------------------------------

def _summary_section(content: CycleReportContent) -> list[Flowable]:
    header, totals, lke = content.header, content.totals, content.lke
    zone = header.time_zone
    score = (f"{words.number(lke.total)} (predikat {lke.grade}, {lke.grade_label})"
             if lke is not None else words.LKE_MISSING)
    rows = [
        ("Perangkat daerah", header.dinas),
        ("Nama SOP", header.sop_name),
        ("Nomor SOP", header.sop_number),
        ("Tanggal pembuatan", words.sop_day(header.created_on)),
        ("Tanggal revisi", words.sop_day(header.revised_on)),
        ("Tanggal efektif", words.sop_day(header.effective_on)),
        ("Disahkan oleh", f"{header.approver_title}\n{header.approver_name}"),
        ("Tahun siklus", str(header.year)),
        ("Status siklus", words.label(words.CYCLE_STATES, content.cycle_state)),
        ("Siklus dibuka", words.moment(content.opened_at, zone)),
        ("Tingkat pelaporan", f"{words.percent(totals.reporting_rate)} "
                              f"({totals.submitted} dari {totals.required} dokumen wajib)"),
        ("Ketepatan waktu", f"{words.percent(totals.on_time_rate)} "
                            f"({totals.on_time} dari {totals.required} dokumen wajib)"),
        ("Nilai LKE", score),
    ]
    data = [[Paragraph(escape(key), CELL_BOLD), Paragraph(_text(value), CELL)]
            for key, value in rows]
    table = Table(data, colWidths=[4.2 * cm, PORTRAIT_WIDTH - 4.2 * cm], hAlign="LEFT")
    table.setStyle([*_grid(), ("BACKGROUND", (0, 0), (0, -1), charts.colour(charts.HEADER_FILL))])
    return [Paragraph(escape(words.SECTION_HEADINGS[words.SUMMARY]), HEADING), table]


def _steps_section(content: CycleReportContent) -> list[Flowable]:
    zone = content.header.time_zone
    head = ["No", "Kegiatan dan pelaksana", "Rencana", "Mulai", "Batas waktu", "Selesai",
            "Realisasi", "Batas waktu terpenuhi"]
    data: list[list[Any]] = [[Paragraph(escape(h), HEAD) for h in head]]
    data += [_step_row(step, zone) for step in content.steps]
    widths = [0.6 * cm, 4.9 * cm, 2.2 * cm, 2.25 * cm, 2.25 * cm, 2.25 * cm, 1.85 * cm]
    widths.append(PORTRAIT_WIDTH - sum(widths))
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(_grid(header=True))
    flowables: list[Flowable] = [Paragraph(escape(words.SECTION_HEADINGS[words.STEPS]), HEADING),
                                 table, Paragraph("Perpanjangan batas waktu", SUBHEADING)]
    if not content.extensions:
        return [*flowables, Paragraph("Tidak ada perpanjangan batas waktu.", BODY)]
    head = ["Lingkup", "Batas waktu baru", "Alasan", "Diberikan oleh", "Diberikan pada"]
    rows: list[list[Any]] = [[Paragraph(escape(h), HEAD) for h in head]]
    rows += [[Paragraph(_text(e.scope), CELL), Paragraph(_text(words.moment(e.due_at, zone)), CELL),
              Paragraph(_text(e.reason), CELL), Paragraph(_text(e.granted_by), CELL),
              Paragraph(_text(words.moment(e.granted_at, zone)), CELL)]
             for e in content.extensions]
    widths = [3.2 * cm, 2.8 * cm, 0.0, 3.0 * cm, 2.8 * cm]
    widths[2] = PORTRAIT_WIDTH - sum(widths)
    extensions = Table(rows, colWidths=widths, repeatRows=1)
    extensions.setStyle(_grid(header=True))
    return [*flowables, extensions]


def _step_row(step: StepLine, zone: str) -> list[Any]:
    activity = f"{_text(step.activity)}<br/><i>{_text(step.executors)}</i>"
    planned = f"{_text(step.planned)}<br/>({_text(words.hours(step.planned_hours))})"
    actual = words.hours(step.actual_hours)
    state = words.label(words.STEP_STATES, step.state)
    return [
        Paragraph(str(step.number), CELL_CENTER),
        Paragraph(activity, CELL),
        Paragraph(planned, CELL),
        Paragraph(_text(words.moment(step.started_at, zone)), CELL),
        Paragraph(_text(words.moment(step.due_at, zone)), CELL),
        Paragraph(_text(words.moment(step.completed_at, zone)), CELL),
        Paragraph(_text(actual), CELL),
        Paragraph(f"{escape(words.deadline(step.met))}<br/>({escape(state)})", CELL),
    ]


def _matrix_section(content: CycleReportContent) -> list[Flowable]:
    heading = Paragraph(escape(words.SECTION_HEADINGS[words.MATRIX]), HEADING)
    if not content.bidang_rows:
        return [heading, Paragraph("Belum ada Bidang dalam siklus ini.", BODY)]
    columns = content.document_types
    name_width, rate_width = 3.6 * cm, 1.55 * cm
    cell_width = (LANDSCAPE_WIDTH - name_width - 3 * rate_width) / max(len(columns), 1)
    head = [Paragraph("Bidang", MATRIX_HEAD),
            *(Paragraph(_text(c.label), MATRIX_HEAD) for c in columns),
            Paragraph("Diserahkan / wajib", MATRIX_HEAD),
            Paragraph("Tingkat pelaporan", MATRIX_HEAD),
            Paragraph("Ketepatan waktu", MATRIX_HEAD)]
    data: list[list[Any]] = [head]
    style = _grid(header=True)
    for index, row in enumerate(content.bidang_rows, start=1):
        data.append(_matrix_row(row, [c.code for c in columns]))
        for column, code in enumerate(c.code for c in columns):
            status = row.cells.get(code, CellStatus.NOT_REQUIRED)
            style.append(("BACKGROUND", (column + 1, index), (column + 1, index),
                          charts.colour(charts.CELL_FILLS[status])))
    totals = content.totals
    counts = (f"Tepat waktu {totals.on_time} \u00b7 Terlambat {totals.late} \u00b7 "
              f"Dikembalikan {totals.returned} \u00b7 Tidak ada {totals.missing}")
    spread = [Paragraph(escape(counts), MATRIX_CELL), *([""] * (len(columns) - 1))]
    data.append([Paragraph(f"<b>{escape(words.WHOLE_DINAS)}</b>", MATRIX_CELL),
                 *(spread if columns else []),
                 Paragraph(f"<b>{totals.submitted}/{totals.required}</b>", MATRIX_CELL),
                 Paragraph(f"<b>{words.percent(totals.reporting_rate)}</b>", MATRIX_CELL),
                 Paragraph(f"<b>{words.percent(totals.on_time_rate)}</b>", MATRIX_CELL)])
    last = len(data) - 1
    if columns:
        style.append(("SPAN", (1, last), (len(columns), last)))
    style.append(("BACKGROUND", (0, last), (-1, last), charts.colour(charts.HEADER_FILL)))
    widths = [name_width, *([cell_width] * len(columns)), rate_width, rate_width, rate_width]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle([*style, ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
    return [heading, table, Spacer(1, 6), _legend()]


def _matrix_row(row: BidangRow, codes: Sequence[str]) -> list[Any]:
    return [Paragraph(_text(row.bidang), MATRIX_NAME),
            *(Paragraph(escape(row.cells.get(code, CellStatus.NOT_REQUIRED).label), MATRIX_CELL)
              for code in codes),
            Paragraph(f"{row.submitted}/{row.required}", MATRIX_CELL),
            Paragraph(words.percent(row.reporting_rate), MATRIX_CELL),
            Paragraph(words.percent(row.on_time_rate), MATRIX_CELL)]


def _legend() -> Table:
    meanings = {
        CellStatus.ON_TIME: "diserahkan sebelum batas waktu",
        CellStatus.LATE: "diserahkan setelah batas waktu",
        CellStatus.RETURNED: "dikembalikan dan belum diserahkan ulang",
        CellStatus.MISSING: "belum pernah diserahkan",
        CellStatus.NOT_REQUIRED: "tidak termasuk daftar dokumen Bidang",
    }
    cells = [Paragraph(f"<b>{escape(s.label)}</b>: {escape(m)}", CELL) for s, m in meanings.items()]
    table = Table([cells], colWidths=[LANDSCAPE_WIDTH / len(cells)] * len(cells), hAlign="LEFT")
    table.setStyle([("BACKGROUND", (i, 0), (i, 0), charts.colour(charts.CELL_FILLS[s]))
                    for i, s in enumerate(meanings)] + [("BOX", (0, 0), (-1, -1), 0.4, GRID),
                                                        ("INNERGRID", (0, 0), (-1, -1), 0.4, GRID)])
    return table


def _lke_section(lke: LkeSummary | None) -> list[Flowable]:
    heading = Paragraph(escape(words.SECTION_HEADINGS[words.LKE]), HEADING)
    if lke is None:
        return [heading, Paragraph(escape(words.LKE_MISSING), BODY)]
    intro = Paragraph(f"Instrumen: {_text(lke.rubric)} \u00b7 Status: "
                      f"{escape(words.label(words.LKE_STATES, lke.state))}", BODY)
    head = ["Kode", "Komponen / sub-komponen", "Bobot", "Nilai"]
    data: list[list[Any]] = [[Paragraph(escape(h), HEAD) for h in head]]
    style = _grid(header=True)
    for component in lke.components:
        style.append(("BACKGROUND", (0, len(data)), (-1, len(data)), colors.HexColor("#F2F2F2")))
        data.append([Paragraph(_text(component.code), CELL_BOLD),
                     Paragraph(_text(component.name), CELL_BOLD),
                     Paragraph(words.number(component.weight), CELL_RIGHT),
                     Paragraph(f"<b>{words.number(component.score)}</b>", CELL_RIGHT)])
        data += [[Paragraph(_text(part.code), CELL),
                  Paragraph(f"&nbsp;&nbsp;&nbsp;{_text(part.name)}", CELL),
                  Paragraph(words.number(part.weight), CELL_RIGHT),
                  Paragraph(words.number(part.score), CELL_RIGHT)] for part in component.parts]
    total = f"{words.number(lke.total)}"
    grade = f"{_text(lke.grade)} ({_text(lke.grade_label)})"
    data.append([Paragraph("", CELL), Paragraph("<b>Nilai total</b>", CELL),
                 Paragraph("", CELL), Paragraph(f"<b>{total}</b>", CELL_RIGHT)])
    data.append([Paragraph("", CELL), Paragraph("<b>Predikat</b>", CELL),
                 Paragraph(f"<b>{grade}</b>", CELL_RIGHT), ""])
    style += [("SPAN", (2, len(data) - 1), (3, len(data) - 1)),
              ("BACKGROUND", (0, len(data) - 2), (-1, -1), charts.colour(charts.HEADER_FILL))]
    widths = [1.6 * cm, 0.0, 2.4 * cm, 2.4 * cm]
    widths[1] = PORTRAIT_WIDTH - sum(widths)
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(style)
    flowables: list[Flowable] = [heading, intro, table]
    if lke.components:
        flowables += [Spacer(1, 8),
                      charts.component_chart(lke.components, width=PORTRAIT_WIDTH)]
    return flowables


def _findings_section(lke: LkeSummary | None) -> list[Flowable]:
    flowables: list[Flowable] = [Paragraph(escape(words.SECTION_HEADINGS[words.FINDINGS]),
                                           HEADING)]
    if lke is None:
        return [*flowables, Paragraph(escape(words.LKE_MISSING), BODY)]
    for title, text in (("Temuan", lke.findings), ("Rekomendasi", lke.recommendations)):
        flowables.append(Paragraph(title, SUBHEADING))
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()] or [words.NOTHING]
        flowables += [Paragraph(_text(p.strip(), limit=None), BODY) for p in paragraphs]
    return flowables


def _signature(content: CycleReportContent, generated_at: datetime) -> Flowable:
    """Where the kepala_dinas signs: dated, titled, room for the signature, the name."""
    header = content.header
    lines = [Paragraph(_text(words.day(generated_at, header.time_zone)), SIGNATURE),
             Paragraph("Menyetujui,", SIGNATURE),
             Paragraph(_text(header.approver_title), SIGNATURE),
             Spacer(1, 1.8 * cm),
             Paragraph(f"<u>{_text(header.approver_name)}</u>", SIGNATURE_NAME)]
    block = Table([[line] for line in lines], colWidths=[7.5 * cm], hAlign="RIGHT")
    block.setStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)])
    return KeepTogether([Spacer(1, 0.8 * cm), block])


def _evidence_section(evidence: Sequence[EvidenceLine], zone: str) -> list[Flowable]:
    heading = Paragraph(escape(words.SECTION_HEADINGS[words.EVIDENCE]), HEADING)
    if not evidence:
        return [heading, Paragraph("Tidak ada bukti dokumen yang diterima.", BODY)]
    digest_width = stringWidth("0" * 64, MONO, DIGEST_SIZE) + 8
    widths = [0.8 * cm, PORTRAIT_WIDTH - 0.8 * cm - digest_width, digest_width]
    data: list[list[Any]] = [[Paragraph("No", HEAD), Paragraph("Dokumen", HEAD),
                              Paragraph("SHA-256", HEAD)]]
    data += [[Paragraph(str(number), CELL_CENTER), Paragraph(_evidence_text(line, zone), CELL),
              _digest(line.sha256)]
             for number, line in enumerate(evidence, start=1)]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle([*_grid(header=True), ("FONT", (2, 1), (2, -1), MONO, DIGEST_SIZE),
                    ("LEFTPADDING", (2, 1), (2, -1), 4), ("RIGHTPADDING", (2, 1), (2, -1), 4)])
    intro = Paragraph(f"{len(evidence)} berkas. Sidik jari SHA-256 setiap berkas memungkinkan "
                      "pemeriksaan bahwa berkas yang diarsipkan tidak berubah.", BODY)
    return [heading, intro, table]


def _evidence_text(line: EvidenceLine, zone: str) -> str:
    details = (f"{_text(line.filename)} \u00b7 versi {line.version} \u00b7 "
               f"{escape(format_bytes(line.size_bytes))} \u00b7 diterima "
               f"{_text(words.moment(line.accepted_at, zone))}")
    return (f"<b>{_text(line.bidang)}</b> \u00b7 {_text(line.document_type)}<br/>"
            f"{_text(line.title)}<br/><font size=6.5>{details}</font>")


def _digest(sha256: str) -> str:
    """A digest as a plain (unparsed, unwrapped) cell string; only hex survives."""
    return re.sub("[^0-9a-fA-F]", "", sha256)[:64]


# -- city recap -----------------------------------------------------------------------------------

def _recap_table(rows: Sequence[RecapRow]) -> Table:
    head = ["No", "Perangkat daerah", "Status siklus", "Tahapan", "Tahap berjalan",
            "Tingkat pelaporan", "Ketepatan waktu", "Nilai LKE", "Predikat", "Laporan disetujui"]
    data: list[list[Any]] = [[Paragraph(escape(h), HEAD_CENTER) for h in head]]
    for number, row in enumerate(rows, start=1):
        data.append([
            Paragraph(str(number), CELL_CENTER),
            Paragraph(_text(row.dinas), CELL),
            Paragraph(escape(words.label(words.CYCLE_STATES, row.cycle_state)), CELL),
            Paragraph(words.progress(row.steps_completed, row.steps_total), CELL_CENTER),
            Paragraph(_text(row.current_step or words.NOTHING), CELL),
            Paragraph(words.percent(row.reporting_rate), CELL_RIGHT),
            Paragraph(words.percent(row.on_time_rate), CELL_RIGHT),
            Paragraph(words.number(row.total), CELL_RIGHT),
            Paragraph(_text(row.grade or words.NOTHING), CELL_CENTER),
            Paragraph(words.yes_no(row.report_approved), CELL_CENTER),
        ])
    widths = [0.8 * cm, 0.0, 2.5 * cm, 1.5 * cm, 4.2 * cm, 2.1 * cm, 2.1 * cm, 1.8 * cm, 1.6 * cm,
              1.9 * cm]
    widths[1] = LANDSCAPE_WIDTH - sum(widths)
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle([*_grid(header=True), ("ROWBACKGROUNDS", (0, 1), (-1, -1),
                                          [colors.white, colors.HexColor("#F7F7F7")])])
    return table


# -- plumbing -------------------------------------------------------------------------------------

def _text(value: str, *, limit: int | None = CELL_TEXT_LIMIT) -> str:
    """User text made safe for a Paragraph: controls dropped, markup escaped, line breaks kept,
    and (in a table cell, which cannot split across pages) shortened to `limit` characters."""
    cleaned = CONTROL.sub("", value).replace("\t", " ")
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[:limit].rstrip() + " \u2026"
    return escape(cleaned).replace("\r\n", "\n").replace("\n", "<br/>")


def _grid(*, header: bool = False) -> list[Any]:
    style: list[Any] = [
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), charts.colour(charts.HEADER_FILL)))
    return style


def _build(story: list[Flowable], *, first: str, footer: str, generated_at: datetime, title: str,
           subject: str) -> bytes:
    buffer = io.BytesIO()
    document = BaseDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                               topMargin=MARGIN, bottomMargin=MARGIN, title=CONTROL.sub("", title),
                               author="Platform SAKIP", subject=CONTROL.sub("", subject),
                               creator="Platform SAKIP", invariant=1, lang="id-ID")
    portrait = PageTemplate(id=PORTRAIT, pagesize=A4, frames=[
        Frame(MARGIN, MARGIN, PORTRAIT_WIDTH, A4[1] - 2 * MARGIN, id="portrait")])
    wide = PageTemplate(id=LANDSCAPE, pagesize=landscape(A4), frames=[
        Frame(MARGIN, MARGIN, LANDSCAPE_WIDTH, LANDSCAPE_HEIGHT, id="landscape")])
    document.addPageTemplates([portrait, wide] if first == PORTRAIT else [wide, portrait])
    maker: Callable[..., Canvas] = partial(_NumberedCanvas, footer=CONTROL.sub("", footer),
                                           generated_at=generated_at)
    document.build(story, canvasmaker=maker)
    return buffer.getvalue()


class _NumberedCanvas(Canvas):
    """Keeps every page until the end, so each footer can say "Halaman 3 dari 9"; dates the
    document `generated_at` (invariant mode otherwise pins them to 2000-01-01)."""

    def __init__(self, *args: Any, footer: str, generated_at: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []
        self._doc._timeStamp = _Stamp(generated_at)

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._draw_footer(number, total)
            super().showPage()
        super().save()

    def _draw_footer(self, number: int, total: int) -> None:
        width = self._pagesize[0]
        page = f"Halaman {number} dari {total}"
        self.saveState()
        self.setFont("Helvetica", 7)
        self.setFillColor(colors.HexColor("#595959"))
        self.setStrokeColor(GRID)
        self.setLineWidth(0.4)
        self.line(MARGIN, MARGIN - 8, width - MARGIN, MARGIN - 8)
        room = width - 2 * MARGIN - stringWidth(page, "Helvetica", 7) - 20
        self.drawString(MARGIN, MARGIN - 18, _fit(self._footer, room, 7))
        self.drawRightString(width - MARGIN, MARGIN - 18, page)
        self.restoreState()


class _Stamp:
    """What reportlab's PDF dates are made of, for one fixed UTC moment."""

    def __init__(self, moment: datetime) -> None:
        utc = moment.astimezone(UTC)
        self.YMDhms = (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
        self.dhh = self.dmm = 0
        self.tzname = "UTC"
        self.t = utc.timestamp()


def _fit(text: str, width: float, size: float) -> str:
    full = stringWidth(text, "Helvetica", size)
    if full <= width:
        return text
    text = text[:int(len(text) * width / full) + 1]
    while text and stringWidth(text + "\u2026", "Helvetica", size) > width:
        text = text[:-1]
    return text.rstrip() + "\u2026"
