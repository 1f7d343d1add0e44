"""Needs-based suggestions: at most three catalogue products within the customer's level that
also fit their needs, each with a one-line reason.

A pure function over data (the catalogue, ``product_fit.yml``, the questionnaire) so the chat,
the copilot and the tests get the same answer. The needs come from the assessment's answers and
the funds available, never from age or other non-financial facts (rule 9):

- horizon (ra_horizon): the money's commitment (term, closed period, lock-up) must not exceed
  what the horizon allows, and the horizon must be long enough for the product's level (R3 one
  year, R4 three, R5 five: a short horizon could force a sale at a low);
- liquidity (not asked; derived, see ``liquidity_need``): high -> only products redeemable any
  business day; medium -> no closed product longer than six months;
- goal (ra_goal): the product must be made for it (``purposes``);
- funds: the product's minimum must not exceed the funds available (the caller passes the
  account balance).

Ranking, among products that fit: the goal as the product's first purpose before a secondary
one (made for it, not merely compatible); then shorter commitment (it leaves the customer more
freedom if plans change, at no cost to the fit); then lower risk (no more risk than the need
asks); then catalogue id (stable). At most one product per type while other types remain, so
three suggestions are three different kinds of product. Products within the level that miss a
need are returned with the needs they miss, for tests and audit, never to be shown.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from bot.advisory import assessment
from bot.advisory.texts import language_or_default, money, text
from bot.compliance import catalogue, risk_profile, suitability
from bot.compliance.catalogue import Product
from bot.compliance.risk_profile import RiskProfile

FIT_FILE = Path(__file__).with_name("product_fit.yml")
MAX_SHOWN = 3
HORIZON, LIQUIDITY, GOAL, MINIMUM = "horizon", "liquidity", "goal", "min_amount"
HIGH, MEDIUM, LOW = "high", "medium", "low"


@dataclass(frozen=True)
class Needs:
    horizon: int | None  # ra_horizon option number
    goal: int | None     # ra_goal option number
    liquidity: str       # high | medium | low
    funds: Decimal


@dataclass(frozen=True)
class Suggestion:
    product: Product
    reason: str


@dataclass(frozen=True)
class Suggestions:
    shown: tuple[Suggestion, ...]                        # at most three, best first
    also_fit: tuple[Product, ...]                        # fit level and needs, ranked below the three
    level_only: tuple[tuple[Product, tuple[str, ...]], ...]  # within level, missing these needs: not to show
    needs: Needs | None
    refused: str | None = None  # no_assessment | expired | incomplete_answers: nothing suggested


@functools.lru_cache(maxsize=1)
def fit_data() -> dict:
    with FIT_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def liquidity_need(answers: dict[str, int]) -> str:
    """How soon the customer may need the money back, derived from the answers (see
    ``product_fit.yml``): unstable income or a horizon under a year -> high; fairly stable
    income -> medium; else low."""
    rules = fit_data()["liquidity"]
    for need, when in ((HIGH, rules["high_when"]), (MEDIUM, rules["medium_when"])):
        if any(answers.get(slot) in options for slot, options in when.items()):
            return need
    return LOW


def needs_of(answers: dict[str, int], funds: Decimal) -> Needs:
    return Needs(answers.get("ra_horizon"), answers.get("ra_goal"), liquidity_need(answers), Decimal(funds))


def missed_needs(product: Product, needs: Needs) -> tuple[str, ...]:
    """The needs ``product`` does not fit (empty: it fits them all)."""
    data = fit_data()
    fit = data["products"][product.id]
    horizon = data["horizons"][needs.horizon]
    missed = []
    if fit["commitment_months"] > horizon["max_commitment_months"] \
            or data["min_years_by_risk"][product.risk] > horizon["years"]:
        missed.append(HORIZON)
    if (needs.liquidity == HIGH and fit["exit"] != "anytime") or \
            (needs.liquidity == MEDIUM and fit["exit"] == "closed"
             and fit["commitment_months"] > data["liquidity"]["medium_max_closed_months"]):
        missed.append(LIQUIDITY)
    if data["goals"][needs.goal] not in fit["purposes"]:
        missed.append(GOAL)
    if Decimal(product.min_amount) > needs.funds:
        missed.append(MINIMUM)
    return tuple(missed)


def _rank(product: Product, needs: Needs) -> tuple:
    fit = fit_data()["products"][product.id]
    goal_first = fit["purposes"][0] == fit_data()["goals"][needs.goal]
    return (not goal_first, fit["commitment_months"], product.risk_rank, product.id)


def _pick(ranked: list[Product]) -> tuple[list[Product], list[Product]]:
    """The first three, one per type while other types remain; then the rest in rank order."""
    chosen: list[Product] = []
    for product in ranked:
        if len(chosen) < MAX_SHOWN and product.type not in {p.type for p in chosen}:
            chosen.append(product)
    for product in ranked:
        if len(chosen) < MAX_SHOWN and product not in chosen:
            chosen.append(product)
    return chosen, [p for p in ranked if p not in chosen]


def _in_sentence(label: str, language: str) -> str:
    """An answer's label inside an English sentence starts in lower case ("over 5 years")."""
    return label[:1].lower() + label[1:] if language == "en" else label


def reason(product: Product, needs: Needs, language: str | None) -> str:
    """One line: term against horizon, the goal, liquidity, the minimum against the funds."""
    language = language_or_default(language)
    fit = fit_data()["products"][product.id]
    horizon = _in_sentence(assessment.option_label("ra_horizon", needs.horizon, language), language)
    goal = _in_sentence(assessment.option_label("ra_goal", needs.goal, language), language)
    if fit["commitment_months"]:
        term = text("suggestions.term_fixed", language, term=product.term[language], horizon=horizon)
    else:
        term = text("suggestions.term_open", language, horizon=horizon)
    clauses = [term, text("suggestions.goal", language, goal=goal),
               text("suggestions.liquidity", language, liquidity=product.liquidity[language].rstrip("。.")),
               text("suggestions.minimum", language, amount=money(Decimal(product.min_amount), language))]
    return text("units.clause_separator", language).join(clauses)


def suggest(profile: RiskProfile | None, answers: dict[str, int], funds: Decimal, language: str | None,
            products: tuple[Product, ...] | None = None) -> Suggestions:
    """At most three products within ``profile``'s level that fit the needs in ``answers`` and
    ``funds``, best first, each with its reason (see the module's docstring)."""
    if profile is None:
        return Suggestions((), (), (), None, refused="no_assessment")
    if not profile.is_valid():
        return Suggestions((), (), (), None, refused="expired")
    if answers.get("ra_horizon") not in fit_data()["horizons"] or answers.get("ra_goal") not in fit_data()["goals"]:
        return Suggestions((), (), (), None, refused="incomplete_answers")
    needs = needs_of(answers, funds)
    within = [p for p in (products or catalogue.products()) if suitability.within_level(p, profile)]
    fitting = sorted((p for p in within if not missed_needs(p, needs)), key=lambda p: _rank(p, needs))
    shown, rest = _pick(fitting)
    level_only = tuple((p, missed_needs(p, needs)) for p in within if missed_needs(p, needs))
    return Suggestions(tuple(Suggestion(p, reason(p, needs, language)) for p in shown), tuple(rest), level_only, needs)


def suggest_for(customer_id: str, funds: Decimal, language: str | None) -> Suggestions:
    """``suggest`` for a customer: their assessment in force and its answers."""
    return suggest(risk_profile.current(customer_id), assessment.answers(customer_id), funds, language)
