"""The report's two charts as inline SVG for the HTML page (no script, no external file).

By risk level: one bar per level R1..R5 with the value held there; bars above the customer's
level are drawn in amber and a dashed line after their level's bar marks where it lies. Over
time: the total value of the holdings for each of the last days, with its lowest and highest
values and first, middle and last days labelled. Every label comes from ``ReportContent``,
escaped.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from bot.advisory.report_content import ReportContent

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 30, 40
WITHIN, ABOVE, LINE, GRID = "#3b6ea5", "#d98c1f", "#2f7d4f", "#c8c8c8"


def _svg(title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}" role="img" aria-label="{escape(title)}">'
            f'<title>{escape(title)}</title>{"".join(body)}</svg>')


def _label(x: float, y: float, words: str, anchor: str = "middle", size: int = 12) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'font-family="sans-serif">{escape(words)}</text>')


def levels_chart(content: ReportContent) -> str:
    top = TOP + 20  # room above the bars' labels for the level marker
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - top - BOTTOM
    highest = max((v for _, v in content.level_values), default=Decimal(0)) or Decimal(1)
    slot = plot_w / len(content.level_values)
    body = [f'<line x1="{LEFT}" y1="{top + plot_h}" x2="{LEFT + plot_w}" y2="{top + plot_h}" stroke="{GRID}"/>']
    for i, (level, amount) in enumerate(content.level_values):
        height = float(amount / highest) * plot_h
        x = LEFT + i * slot + slot * 0.2
        above = content.customer_rank is not None and i + 1 > content.customer_rank
        body.append(f'<rect x="{x:.1f}" y="{top + plot_h - height:.1f}" width="{slot * 0.6:.1f}" '
                    f'height="{height:.1f}" fill="{ABOVE if above else WITHIN}"/>')
        body.append(_label(x + slot * 0.3, top + plot_h + 16, level))
        if amount:
            body.append(_label(x + slot * 0.3, top + plot_h - height - 5, f"{amount:,.2f}", size=11))
    if content.customer_rank is not None:
        x = LEFT + content.customer_rank * slot
        body.append(f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#555" '
                    'stroke-dasharray="5,4"/>')
        body.append(_label(x, TOP - 12, content.level_marker, size=11))
    return _svg(content.levels_title, body)


def history_chart(content: ReportContent) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for _, v in content.history]
    low, high = min(values, default=Decimal(0)), max(values, default=Decimal(0))
    span = (high - low) or Decimal(1)
    step = plot_w / max(len(values) - 1, 1)
    points = " ".join(f"{LEFT + i * step:.1f},{TOP + plot_h - float((v - low) / span) * plot_h:.1f}"
                      for i, v in enumerate(values))
    body = [f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT + plot_w}" y2="{TOP}" stroke="{GRID}"/>',
            f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="{GRID}"/>',
            _label(LEFT - 6, TOP + 4, f"{high:,.0f}", anchor="end", size=11),
            _label(LEFT - 6, TOP + plot_h + 4, f"{low:,.0f}", anchor="end", size=11)]
    if values:
        body.append(f'<polyline fill="none" stroke="{LINE}" stroke-width="2" points="{points}"/>')
        for index in content.history_ticks:
            anchor = "start" if index == 0 else "end" if index == len(values) - 1 else "middle"
            body.append(_label(LEFT + index * step, TOP + plot_h + 18, content.history[index][0], anchor, 11))
    return _svg(content.history_title, body)
