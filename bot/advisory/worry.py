"""Facts for a customer worried about their investments, grounded in what they hold.

"我的基金跌了好多怎么办" is about a holding. Which one: a product the message names (by name,
alias or id: ``catalogue.named_in``) that the customer holds; else the holdings of a type the
message mentions (基金, bond, 股票基金: ``suitability.requested_types``), the one with the
largest loss; else the holding with the largest loss overall. The facts: how far it is below
its peak since purchase and where it stands against what they paid, its risk level and what
that level means, the horizon the customer gave in their assessment, and what redeeming now
would cost (liquidity and fees, as the catalogue states them). Facts only and the customer's own
choice: never "buy", "sell" or "hold", never a prediction. The mandatory warning comes first (a
product is named), the past-performance caveat last.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.advisory import assessment, valuation
from bot.advisory.texts import days, language_or_default, money, percent, text
from bot.advisory.valuation import HoldingValue, Portfolio
from bot.compliance import catalogue, rulebook, suitability
from bot.compliance.risk_profile import RiskProfile

NAMED, TYPE, LARGEST_LOSS = "named", "type", "largest_loss"


@dataclass(frozen=True)
class WorryFacts:
    holding: HoldingValue
    found_by: str  # named | type | largest_loss
    horizon: str | None  # the answer the customer gave, in their language; None if not on file
    messages: tuple[str, ...]


def _largest_loss(candidates: list[HoldingValue]) -> HoldingValue:
    """The one that fell most: "my fund fell 20%" speaks of a fall from a high, so the deepest
    drawdown from its peak first, then the largest loss against what was paid."""
    return min(candidates, key=lambda h: (h.from_peak_pct, h.gain_pct, h.product.id))


def holding_concerned(portfolio: Portfolio, message: str) -> tuple[HoldingValue, str] | None:
    """The holding a worried message is about, and how it was found; None if nothing is held."""
    if not portfolio.holdings:
        return None
    named = {p.id for p in catalogue.named_in(message or "")}
    held_named = [h for h in portfolio.holdings if h.product.id in named]
    if held_named:
        return _largest_loss(held_named), NAMED
    types = suitability.requested_types(message or "")
    held_types = [h for h in portfolio.holdings if h.product.type in types]
    if held_types:
        return _largest_loss(held_types), TYPE
    return _largest_loss(list(portfolio.holdings)), LARGEST_LOSS


def _level_line(held: HoldingValue, portfolio: Portfolio, language: str) -> list[str]:
    if held.within_level is None:
        return []
    key = "worry.level_within" if held.within_level else "worry.level_above"
    return [text(key, language, risk=held.product.risk, level=portfolio.level)]


def _horizon_line(profile: RiskProfile | None, horizon: str | None, language: str) -> str:
    if profile is None or horizon is None:
        return text("worry.horizon_unknown", language)
    return text("worry.horizon", language, date=profile.date, horizon=horizon)


def facts_messages(held: HoldingValue, portfolio: Portfolio, answers: dict[str, int],
                   language: str | None) -> tuple[tuple[str, ...], str | None]:
    """(messages, the horizon answer) about ``held``; pure, for tests and the copilot."""
    language = language_or_default(language)
    product = held.product
    horizon = assessment.option_label("ra_horizon", answers.get("ra_horizon"), language)
    held_for = days(held.held_days, language)
    if held.from_peak_pct < 0:
        peak = text("worry.from_peak", language, held=held_for, nav=held.nav, peak_nav=held.peak_nav,
                    peak_day=held.peak_day.isoformat(), from_peak=percent(-held.from_peak_pct, signed=False))
    else:
        peak = text("worry.at_peak", language, held=held_for, nav=held.nav)
    lines = [
        text("worry.about", language, name=product.name[language], risk=product.risk),
        peak,
        text("worry.since_purchase", language, value=money(held.value, language),
             cost=money(held.holding.cost, language), gain=money(held.gain, language, signed=True),
             gain_pct=percent(held.gain_pct)),
        text("worry.level_meaning", language, meaning=text(f"risk_level_meaning.{product.risk}", language)),
        *_level_line(held, portfolio, language),
        _horizon_line(portfolio.profile, horizon, language),
        text("worry.redeeming", language, liquidity=product.liquidity[language].rstrip("。."),
             fees=product.fees[language].rstrip("。.")),
        rulebook.current().past_performance_warning[language],
        text("worry.choice", language),
    ]
    return (rulebook.current().mandatory_warning[language], "\n".join(lines)), horizon


def worry_facts(portfolio: Portfolio, message: str, answers: dict[str, int], language: str | None) -> WorryFacts | None:
    """The facts about the holding a worried ``message`` concerns; None when nothing is held
    (then the general market-worry answer applies)."""
    found = holding_concerned(portfolio, message)
    if found is None:
        return None
    held, found_by = found
    messages, horizon = facts_messages(held, portfolio, answers, language)
    return WorryFacts(held, found_by, horizon, messages)


def worry_facts_for(customer_id: str, message: str, language: str | None) -> WorryFacts | None:
    """``worry_facts`` for a customer: their holdings today and the answers of their assessment."""
    return worry_facts(valuation.portfolio(customer_id), message, assessment.answers(customer_id), language)
