"""What the allocation report says, before it is laid out as HTML or PDF.

One list of texts in reading order (``ReportContent.texts``) is what the compliance guard
judges, as it judges a turn of the chat: the mandatory risk warning comes right after the title,
before any product is named; every other text (headings, table cells, chart titles and labels,
notes, the past-performance caveat) must carry no forbidden wording (no guarantee, no stated or
expected yield, no prediction). A report with any violation is refused (``ReportBlocked``), never
rendered. Both layouts draw only from this content, so what was checked is what is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.advisory.texts import language_or_default, percent, text
from bot.advisory.valuation import Portfolio, value_over_time
from bot.compliance import guard, rulebook
from bot.compliance.catalogue import RISK_LEVELS
from bot.compliance.risk_profile import level_name

HISTORY_DAYS = 180


class ReportBlocked(RuntimeError):
    """The report's texts did not pass the compliance guard; nothing was rendered."""

    def __init__(self, violations: list) -> None:
        super().__init__("report blocked by the compliance guard: " +
                         "; ".join(f"{v.rule}: {v.evidence}" for v in violations))
        self.violations = violations


@dataclass(frozen=True)
class ReportContent:
    language: str
    title: str
    warning: str
    prepared_for: str
    level_line: str
    headings: dict[str, str]
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]      # one per holding, cells as shown
    row_above: tuple[bool, ...]            # which rows are above the customer's level
    total_row: tuple[str, ...]
    levels_title: str
    level_values: tuple[tuple[str, Decimal], ...]  # (R1..R5, value held at that level)
    customer_rank: int | None                      # 1..5, None without a valid assessment
    level_marker: str
    history_title: str
    history: tuple[tuple[str, Decimal], ...]       # (ISO day, total value)
    notes: tuple[str, ...]
    empty: bool

    @property
    def history_ticks(self) -> tuple[int, ...]:
        """The days labelled under the value chart: first, middle, last."""
        return tuple(sorted({0, len(self.history) // 2, len(self.history) - 1})) if self.history else ()

    @property
    def chart_labels(self) -> list[str]:
        """The charts' words and numbers as drawn (both layouts draw these)."""
        values = [v for _, v in self.history]
        return [*(level for level, _ in self.level_values), *(f"{v:,.2f}" for _, v in self.level_values if v),
                self.level_marker, *(self.history[i][0] for i in self.history_ticks),
                *((f"{min(values):,.0f}", f"{max(values):,.0f}") if values else ())]

    @property
    def texts(self) -> list[str]:
        """Every text of the report in reading order: what the guard judges."""
        return [self.title, self.warning, self.prepared_for, self.level_line, *self.headings.values(),
                *self.columns, *(cell for row in self.rows for cell in row), *self.total_row, self.levels_title,
                self.history_title, *self.chart_labels, *self.notes]


def _level_cell(within: bool | None, language: str) -> str:
    key = {True: "report.level_ok", False: "report.level_above", None: "report.level_unknown"}[within]
    return text(key, language)


def build(portfolio: Portfolio, customer_name: str, created: datetime, expires: datetime,
          language: str | None) -> ReportContent:
    """The report's content for ``portfolio`` (see the module's docstring); raises ReportBlocked."""
    language = language_or_default(language)
    rules = rulebook.current()
    profile, level = portfolio.profile, portfolio.level
    if level is not None:
        level_line = text("report.level_line", language, level=level, level_name=level_name(level, language),
                          date=profile.date)
    else:
        level_line = text("report.level_invalid", language)
    rows = tuple((h.product.name[language], h.product.risk, h.holding.purchased_on.isoformat(),
                  f"{h.holding.cost:,.2f}", f"{h.value:,.2f}", f"{h.gain:+,.2f}", percent(h.gain_pct),
                  percent(h.from_peak_pct), _level_cell(h.within_level, language)) for h in portfolio.holdings)
    by_level = {r: sum((h.value for h in portfolio.holdings if h.product.risk == r), Decimal("0.00"))
                for r in RISK_LEVELS}
    history = value_over_time([h.holding for h in portfolio.holdings], portfolio.as_of, HISTORY_DAYS)
    notes = [text("report.no_holdings", language)] if not portfolio.holdings else []
    if portfolio.above_level:
        notes.append(text("report.above_note", language))
    notes += [text("report.facts_not_advice", language), text("report.values_note", language),
              rules.past_performance_warning[language]]
    content = ReportContent(
        language=language,
        title=text("report.title", language),
        warning=rules.mandatory_warning[language],
        prepared_for=text("report.prepared_for", language, customer=customer_name,
                          created=created.strftime("%Y-%m-%d %H:%M"), expires=expires.strftime("%Y-%m-%d %H:%M")),
        level_line=level_line,
        headings={key: text(f"report.section_{key}", language, days=HISTORY_DAYS)
                  for key in ("holdings", "levels", "history", "notes")},
        columns=tuple(text(f"report.col_{c}", language) for c in
                      ("product", "risk", "bought", "cost", "value", "gain", "gain_pct", "from_peak", "level")),
        rows=rows,
        row_above=tuple(h.within_level is False for h in portfolio.holdings),
        total_row=(text("report.total_row", language), "", "", f"{portfolio.total_cost:,.2f}",
                   f"{portfolio.total_value:,.2f}", f"{portfolio.total_gain:+,.2f}",
                   percent(portfolio.total_gain_pct), "", ""),
        levels_title=(text("report.chart_levels_title", language, level=level) if level
                      else text("report.chart_levels_title_no_level", language)),
        level_values=tuple(by_level.items()),
        customer_rank=profile.rank if level else None,
        level_marker=text("report.your_level_marker", language, level=level) if level else "",
        history_title=text("report.chart_history_title", language),
        history=tuple((day.isoformat(), total) for day, total in history),
        notes=tuple(notes),
        empty=not portfolio.holdings,
    )
    check(content)
    return content


def check(content: ReportContent) -> None:
    """Judge every text of the report in order, as the guard judges a turn; raise ReportBlocked."""
    violations, earlier = [], []
    for piece in content.texts:
        if piece:
            violations += guard.check_message(piece, earlier_in_turn=earlier)
            earlier.append(piece)
    if violations:
        raise ReportBlocked(violations)
