"""The allocation report as one self-contained HTML page: inline CSS and SVG charts, no script
and nothing fetched from elsewhere, so it opens the same from any replica, in a mail client or
saved to disk. Every text comes from ``ReportContent`` (guard-checked) and is escaped; the
mandatory risk warning is the first thing under the title.
"""

from __future__ import annotations

from html import escape

from bot.advisory import report_svg
from bot.advisory.report_content import ReportContent
from bot.advisory.texts import text

STYLE = """
body{font-family:"Noto Sans SC","PingFang SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:900px;
color:#222;line-height:1.5;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.3em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.warning{border:2px solid #b3261e;color:#b3261e;font-weight:bold;padding:.6em 1em;margin:1em 0}
table{border-collapse:collapse;width:100%;font-size:.9em}th,td{border:1px solid #ddd;padding:.35em .5em}
td.num{text-align:right}tr.above td{background:#fff4e0}tr.total td{font-weight:bold}
.meta{color:#555;font-size:.9em}ul.notes li{margin:.3em 0}svg{max-width:100%;height:auto}
"""
NUMERIC_COLUMNS = {3, 4, 5, 6, 7}


def _row(cells: tuple[str, ...], css: str = "") -> str:
    tds = "".join(f'<td class="num">{escape(c)}</td>' if i in NUMERIC_COLUMNS else f"<td>{escape(c)}</td>"
                  for i, c in enumerate(cells))
    return f'<tr class="{css}">{tds}</tr>' if css else f"<tr>{tds}</tr>"


def render(content: ReportContent) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in content.columns)
    rows = "".join(_row(r, "above" if above else "") for r, above in zip(content.rows, content.row_above, strict=True))
    table = (f"<table><thead><tr>{head}</tr></thead><tbody>{rows}{_row(content.total_row, 'total')}"
             "</tbody></table>") if not content.empty else ""
    notes = "".join(f"<li>{escape(n)}</li>" for n in content.notes)
    lang = text("report.html_lang", content.language)
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="robots" content="noindex">'
            f"<title>{escape(content.title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(content.title)}</h1>"
            f'<p class="warning">{escape(content.warning)}</p>'
            f'<p class="meta">{escape(content.prepared_for)}</p>'
            f"<p>{escape(content.level_line)}</p>"
            f"<h2>{escape(content.headings['holdings'])}</h2>{table}"
            f"<h2>{escape(content.headings['levels'])}</h2><figure>{report_svg.levels_chart(content)}"
            f"<figcaption>{escape(content.levels_title)}</figcaption></figure>"
            f"<h2>{escape(content.headings['history'])}</h2><figure>{report_svg.history_chart(content)}"
            f"<figcaption>{escape(content.history_title)}</figcaption></figure>"
            f"<h2>{escape(content.headings['notes'])}</h2><ul class=\"notes\">{notes}</ul>"
            "</body></html>")
