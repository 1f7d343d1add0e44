"""The factual chat summary of a customer's holdings, zh or en, from ``texts.yml``.

Messages in the order they are to be sent: the mandatory risk warning as its own message first
(every holding is named by its product's name, and rule 3 wants the warning before any product
name), then the holdings: value and gain or loss per holding and in total, each holding's R-level
against the customer's C-level, a holding above the level stated plainly with the note that an
advisor reviews it and that any change is the customer's choice (never "sell it"), and the
past-performance caveat (gains and losses are past performance). Warning and caveat are the
compliance rules' own texts. A customer who holds nothing gets one sentence and no warning.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.advisory import review_flags, valuation
from bot.advisory.review_flags import ReviewFlag
from bot.advisory.texts import language_or_default, money, percent, text
from bot.advisory.valuation import HoldingValue, Portfolio
from bot.compliance import rulebook
from bot.compliance.risk_profile import level_name


def _level_clause(held: HoldingValue, portfolio: Portfolio, language: str) -> str:
    if held.within_level is None:
        return ""
    if held.within_level:
        return text("holdings.within_level", language, risk=held.product.risk, level=portfolio.level)
    return text("holdings.above_level", language, risk=held.product.risk, level=portfolio.level,
                level_name=level_name(portfolio.level, language))


def holding_line(held: HoldingValue, portfolio: Portfolio, language: str) -> str:
    return text("holdings.line", language, name=held.product.name[language], risk=held.product.risk,
                value=money(held.value, language), gain=money(held.gain, language, signed=True),
                gain_pct=percent(held.gain_pct)) + _level_clause(held, portfolio, language)


def summary_messages(portfolio: Portfolio, language: str | None) -> list[str]:
    """The messages that tell the customer what they hold (see the module's docstring). Raise the
    review flags first (``review_flags.flag_holdings_above_level``): the text says an advisor
    reviews holdings above the level."""
    language = language_or_default(language)
    if not portfolio.holdings:
        return [text("holdings.none", language)]
    rules = rulebook.current()
    lines = [text("holdings.heading", language, as_of=portfolio.as_of.isoformat())]
    lines += [holding_line(held, portfolio, language) for held in portfolio.holdings]
    lines.append(text("holdings.total", language, value=money(portfolio.total_value, language),
                      gain=money(portfolio.total_gain, language, signed=True),
                      gain_pct=percent(portfolio.total_gain_pct)))
    if portfolio.level is None:
        lines.append(text("holdings.no_valid_assessment", language))
    elif portfolio.above_level:
        count = len({h.product.id for h in portfolio.above_level})
        lines.append(text("holdings.above_note", language, count=count))
    lines.append(rules.past_performance_warning[language])
    return [rules.mandatory_warning[language], "\n".join(lines)]


@dataclass(frozen=True)
class Overview:
    portfolio: Portfolio
    flags: tuple[ReviewFlag, ...]  # for holdings above the level; audit the ``new`` ones
    messages: tuple[str, ...]


def holdings_overview(customer_id: str, language: str | None) -> Overview:
    """Value the customer's holdings, raise the review flags, and word the summary: the one call
    for "what do I hold?"."""
    portfolio = valuation.portfolio(customer_id)
    flags = review_flags.flag_holdings_above_level(portfolio)
    return Overview(portfolio, tuple(flags), tuple(summary_messages(portfolio, language)))
