"""The reports' charts and colours: LKE scores per component against their weights (cycle report)
and the LKE total of every dinas (city recap), drawn twice from the same numbers: as reportlab
drawings for the PDF and as native openpyxl bar charts for the XLSX, so a reader of the workbook
gets a chart that follows its cells. The matrix colours live here too, shared by both formats.

Chart numbers are floats only at the drawing boundary; the values shown come from the Decimals.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from decimal import Decimal

from openpyxl.chart import BarChart, Reference
from openpyxl.worksheet.worksheet import Worksheet
from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.textlabels import NA_Label
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors

from services.reporting.content import CellStatus, RecapRow, ScoreLine
from services.reporting.render import words

# Fill of each matrix cell (RGB hex, no '#'): green on time, amber late, orange returned,
# red missing, grey not asked for.
CELL_FILLS = {
    CellStatus.ON_TIME: "C6EFCE",
    CellStatus.LATE: "FFEB9C",
    CellStatus.RETURNED: "F8CBAD",
    CellStatus.MISSING: "FFC7CE",
    CellStatus.NOT_REQUIRED: "EDEDED",
}
HEADER_FILL = "D9E1F2"
SCORE_COLOUR = "2F5597"
WEIGHT_COLOUR = "BFBFBF"
FONT = "Helvetica"
# A recap chart holds at most this many dinas; more are spread over several charts (pages).
RECAP_BARS_PER_CHART = 50


def colour(hex_rgb: str) -> colors.Color:
    return colors.HexColor(f"#{hex_rgb}")


def component_chart(components: Sequence[ScoreLine], *, width: float) -> Drawing:
    """Vertical bars: each component's score beside its weight (the most it can earn)."""
    height = 190.0
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 40, 50
    chart.width, chart.height = width - 60, height - 80
    chart.data = [[float(c.weight) for c in components], [float(c.score) for c in components]]
    chart.categoryAxis.categoryNames = [_wrapped(f"{c.code}. {c.name}", 18) for c in components]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 6.5
    chart.categoryAxis.labels.boxAnchor = "n"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = _ceiling(max([*chart.data[0], *chart.data[1], 5.0]), 5)
    chart.valueAxis.valueStep = 5
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = _whole
    chart.bars[0].fillColor = colour(WEIGHT_COLOUR)
    chart.bars[1].fillColor = colour(SCORE_COLOUR)
    chart.bars.strokeWidth = 0
    chart.barLabelFormat = "values"
    chart.barLabelArray = [["" for _ in components], [words.number(c.score) for c in components]]
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = 6.5
    chart.barLabels.nudge = 6
    drawing.add(chart)
    drawing.add(_legend(x=40, y=height - 8, items=[(WEIGHT_COLOUR, "Bobot"),
                                                    (SCORE_COLOUR, "Nilai")]))
    return drawing


def recap_charts(rows: Sequence[RecapRow], *, width: float, height: float) -> list[Drawing]:
    """Horizontal bars, one per dinas in the recap's order, in as few charts as keep the names
    legible; a dinas without an evaluation has no bar, and says so in its place."""
    if not rows:
        return []
    count = math.ceil(len(rows) / RECAP_BARS_PER_CHART)
    size = math.ceil(len(rows) / count)
    return [_recap_chart(rows[start:start + size], width=width, height=height)
            for start in range(0, len(rows), size)]


def _recap_chart(rows: Sequence[RecapRow], *, width: float, height: float) -> Drawing:
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    label_room = 230.0
    chart.x, chart.y = label_room, 20
    chart.width, chart.height = width - label_room - 40, height - 30
    chart.data = [[float(r.total) if r.total is not None else None for r in rows]]
    chart.categoryAxis.categoryNames = [_shortened(r.dinas, 58) for r in rows]
    chart.categoryAxis.reverseDirection = 1  # the first dinas on top, as in the table
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = 100
    chart.valueAxis.valueStep = 10
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = _whole
    chart.bars[0].fillColor = colour(SCORE_COLOUR)
    chart.bars.strokeWidth = 0
    chart.barLabelFormat = "values"
    chart.barLabelArray = [[words.number(r.total) for r in rows]]
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = 6
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    chart.naLabel = _missing_label()
    drawing.add(chart)
    drawing.add(String(label_room, height - 6, "Nilai LKE", fontName=FONT, fontSize=7))
    return drawing


def component_bar_chart(sheet: Worksheet, *, first_row: int, last_row: int,
                        category_column: int, anchor: str) -> None:
    """The XLSX twin of `component_chart`: weight and score columns (right of the category
    column, with their titles in `first_row`) as clustered columns."""
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = "Nilai LKE per komponen"
    chart.y_axis.title = "Nilai"
    chart.y_axis.scaling.min = 0
    chart.add_data(Reference(sheet, min_col=category_column + 1, max_col=category_column + 2,
                             min_row=first_row, max_row=last_row), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=category_column, min_row=first_row + 1,
                                   max_row=last_row))
    _show_axes(chart)
    chart.width, chart.height = 18, 9
    sheet.add_chart(chart, anchor)


def recap_bar_chart(sheet: Worksheet, *, data: Worksheet, name_column: int, total_column: int,
                    rows: int, anchor: str = "A1") -> None:
    """The XLSX twin of `recap_charts`: one horizontal bar per dinas, read from the recap
    sheet's cells (an empty total is a gap, not a zero)."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = "Nilai LKE per perangkat daerah"
    chart.x_axis.scaling.orientation = "maxMin"  # the first dinas on top, as in the table
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 100
    chart.add_data(Reference(data, min_col=total_column, min_row=1, max_row=rows + 1),
                   titles_from_data=True)
    chart.set_categories(Reference(data, min_col=name_column, min_row=2, max_row=rows + 1))
    chart.legend = None
    _show_axes(chart)
    chart.width, chart.height = 26, max(8.0, 0.5 * rows)
    sheet.add_chart(chart, anchor)


def _missing_label() -> NA_Label:
    label = NA_Label()
    label.text = words.LKE_MISSING
    label.fontName = FONT
    label.fontSize = 6
    label.boxAnchor = "w"
    label.dx = 3
    label.fillColor = colors.HexColor("#7F7F7F")
    return label


def _show_axes(chart: BarChart) -> None:
    # openpyxl marks axes deleted by default; recent Excel versions then hide them.
    chart.x_axis.delete = False
    chart.y_axis.delete = False


def _legend(*, x: float, y: float, items: list[tuple[str, str]]) -> Legend:
    legend = Legend()
    legend.x, legend.y = x, y
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.fontName = FONT
    legend.fontSize = 7
    legend.dx = legend.dy = 7
    legend.deltax = 60
    legend.colorNamePairs = [(colour(hex_rgb), name) for hex_rgb, name in items]
    return legend


def _wrapped(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)[:3]) or text


def _shortened(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"


def _whole(value: float) -> str:
    return words.number(Decimal(str(value)), 0)


def _ceiling(value: float, step: int) -> float:
    return float(math.ceil(value / step) * step)
