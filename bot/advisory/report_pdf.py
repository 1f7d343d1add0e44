"""The allocation report as a PDF, with reportlab (pure Python).

Chinese is set in reportlab's built-in CID font STSong-Light, which PDF readers supply (Adobe's
Asian font packs; pdf.js, Chrome and Preview include them), so no font file is shipped or
embedded; English uses the same font, whose Latin glyphs are fine. Charts are reportlab's own
vector drawings (a bar chart by risk level with the customer's level marked, a line of the
total value over time) from the same guard-checked ``ReportContent`` as the HTML page.
Imported only when a report is rendered: serving a stored report needs no reportlab.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from bot.advisory.report_content import ReportContent

FONT = "STSong-Light"
WITHIN, ABOVE, LINE = colors.HexColor("#3b6ea5"), colors.HexColor("#d98c1f"), colors.HexColor("#2f7d4f")
WARNING = colors.HexColor("#b3261e")
CHART_W, CHART_H = 240 * mm, 70 * mm


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=18, leading=24, spaceAfter=6),
        "warning": ParagraphStyle("warning", fontName=font, fontSize=12, leading=16, textColor=WARNING,
                                  borderColor=WARNING, borderWidth=1, borderPadding=5,
                                  spaceBefore=4, spaceAfter=10),
        "heading": ParagraphStyle("heading", fontName=font, fontSize=13, leading=18, spaceBefore=10, spaceAfter=4),
        "body": ParagraphStyle("body", fontName=font, fontSize=10, leading=14),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=11),
    }


def _para(words: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(words), style)


def _table(content: ReportContent, styles: dict) -> Table:
    cell = styles["cell"]
    data = [[_para(c, cell) for c in content.columns]]
    data += [[_para(c, cell) for c in row] for row in content.rows]
    data.append([_para(c, cell) for c in content.total_row])
    table = Table(data, repeatRows=1, colWidths=[62 * mm] + [None] * (len(content.columns) - 1))
    style = [("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    style += [("BACKGROUND", (0, i + 1), (-1, i + 1), colors.HexColor("#fff4e0"))
              for i, above in enumerate(content.row_above) if above]
    table.setStyle(TableStyle(style))
    return table


def _levels_chart(content: ReportContent) -> Drawing:
    drawing = Drawing(CHART_W, CHART_H)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 50, 25, CHART_W - 80, CHART_H - 60  # room above for the marker
    chart.data = [[float(v) for _, v in content.level_values]]
    chart.categoryAxis.categoryNames = [level for level, _ in content.level_values]
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = _font()
    chart.valueAxis.valueMin = 0
    chart.barLabelFormat = lambda v: f"{v:,.2f}" if v else ""
    chart.barLabels.fontName, chart.barLabels.fontSize, chart.barLabels.nudge = _font(), 7, 7
    for i in range(len(content.level_values)):
        above = content.customer_rank is not None and i + 1 > content.customer_rank
        chart.bars[(0, i)].fillColor = ABOVE if above else WITHIN
    drawing.add(chart)
    if content.customer_rank is not None:
        x = chart.x + chart.width * content.customer_rank / len(content.level_values)
        drawing.add(Line(x, chart.y, x, chart.y + chart.height + 20, strokeDashArray=[4, 3], strokeColor=colors.grey))
        drawing.add(String(x, chart.y + chart.height + 24, content.level_marker, fontName=_font(), fontSize=8,
                           textAnchor="middle"))
    return drawing


def _history_chart(content: ReportContent) -> Drawing:
    drawing = Drawing(CHART_W, CHART_H)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 60, 25, CHART_W - 90, CHART_H - 45
    plot.data = [[(i, float(v)) for i, (_, v) in enumerate(content.history)]] or [[(0, 0.0)]]
    plot.lines[0].strokeColor, plot.lines[0].strokeWidth = LINE, 1.5
    ticks = content.history_ticks
    plot.xValueAxis.valueSteps = list(ticks) or [0]
    plot.xValueAxis.labelTextFormat = lambda i: content.history[int(i)][0] if content.history else ""
    plot.xValueAxis.labels.fontName = plot.yValueAxis.labels.fontName = _font()
    plot.xValueAxis.labels.fontSize = plot.yValueAxis.labels.fontSize = 7
    plot.yValueAxis.labelTextFormat = "{:,.0f}".format
    drawing.add(plot)
    return drawing


def render(content: ReportContent) -> bytes:
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=landscape(A4), title=content.title, author="Anxin",
                                 leftMargin=15 * mm, rightMargin=15 * mm, topMargin=12 * mm, bottomMargin=12 * mm)
    story = [_para(content.title, styles["title"]), _para(content.warning, styles["warning"]),
             _para(content.prepared_for, styles["body"]), Spacer(1, 3), _para(content.level_line, styles["body"]),
             _para(content.headings["holdings"], styles["heading"])]
    if not content.empty:
        story.append(_table(content, styles))
    story += [KeepTogether([_para(content.headings["levels"], styles["heading"]),
                            _para(content.levels_title, styles["body"]), _levels_chart(content)]),
              KeepTogether([_para(content.headings["history"], styles["heading"]),
                            _para(content.history_title, styles["body"]), _history_chart(content)]),
              KeepTogether([_para(content.headings["notes"], styles["heading"]),
                            *(_para(f"- {note}", styles["body"]) for note in content.notes)])]
    document.build(story)
    return buffer.getvalue()
