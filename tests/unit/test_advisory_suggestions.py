"""Needs-based suggestions (bot/advisory/suggestions.py): never above the level, never outside the
needs (horizon, derived liquidity, goal, funds), at most three, each with a reason, ranked as
documented; the products within the level that miss a need are returned apart, not shown."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.advisory import suggestions
from bot.compliance import catalogue, guard
from bot.compliance.risk_profile import LEVELS, RiskProfile

FUNDS = (Decimal("50.00"), Decimal("12345.67"), Decimal("2000000.00"))
FIT = suggestions.fit_data()


def profile(level: str, days_ago: int = 30) -> RiskProfile:
    return RiskProfile(level, None, False, datetime.now(timezone.utc) - timedelta(days=days_ago))


def answers(horizon: int, goal: int, income: int) -> dict[str, int]:
    return {"ra_age_band": 2, "ra_horizon": horizon, "ra_experience": 3, "ra_loss_tolerance": 3,
            "ra_income_stability": income, "ra_goal": goal}


def fits_needs(product, horizon: int, goal: int, income: int, funds: Decimal) -> bool:
    """The needs, written out here from product_fit.yml's rules (not by calling the module)."""
    fit = FIT["products"][product.id]
    longest = {1: 6, 2: 12, 3: 36, 4: 120}[horizon]
    years = {1: 0, 2: 1, 3: 3, 4: 5}[horizon]
    needs_years = {"R1": 0, "R2": 0, "R3": 1, "R4": 3, "R5": 5}[product.risk]
    wanted = {1: "principal_stable", 2: "steady_income", 3: "balanced_growth", 4: "high_growth"}[goal]
    if income == 1 or horizon == 1:
        liquid = fit["exit"] == "anytime"
    elif income == 2:
        liquid = not (fit["exit"] == "closed" and fit["commitment_months"] > 6)
    else:
        liquid = True
    return (fit["commitment_months"] <= longest and needs_years <= years and liquid
            and wanted in fit["purposes"] and product.min_amount <= funds)


CASES = list(itertools.product(LEVELS, (1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 4), FUNDS))


def test_never_above_the_level_never_outside_the_needs_at_most_three_each_with_a_reason():
    shown_any = 0
    for level, horizon, goal, income, funds in CASES:
        result = suggestions.suggest(profile(level), answers(horizon, goal, income), funds, "zh")
        shown = [s.product for s in result.shown]
        assert len(shown) <= 3
        for product in shown:
            assert product.risk_rank <= LEVELS.index(level) + 1, (level, product.id)
            assert fits_needs(product, horizon, goal, income, funds), (level, horizon, goal, income, funds, product.id)
        assert all(s.reason for s in result.shown)
        expected = {p.id for p in catalogue.products()
                    if p.risk_rank <= LEVELS.index(level) + 1 and fits_needs(p, horizon, goal, income, funds)}
        assert {p.id for p in shown} | {p.id for p in result.also_fit} == expected
        assert len(shown) == min(3, len(expected))
        assert {p.id for p, _ in result.level_only} == \
            {p.id for p in catalogue.products() if p.risk_rank <= LEVELS.index(level) + 1} - expected
        assert all(missed for _, missed in result.level_only)
        shown_any += bool(shown)
    assert shown_any > len(CASES) / 3  # the needs do not simply rule everything out


def test_three_suggestions_are_three_kinds_of_product_when_there_are_three():
    for level, horizon, goal, income, funds in CASES:
        result = suggestions.suggest(profile(level), answers(horizon, goal, income), funds, "en")
        kinds = {s.product.type for s in result.shown}
        available = {s.product.type for s in result.shown} | {p.type for p in result.also_fit}
        assert len(kinds) == min(len(result.shown), len(available))


def test_a_steady_income_customer_at_c3_with_a_one_to_three_year_horizon():
    """Ranked: made first for steady income (bond funds, the 90-day product), shorter commitment
    first, one per kind; the 1-year closed product misses the derived liquidity need (income only
    fairly stable), the CD the funds and the horizon, the annuity the horizon."""
    result = suggestions.suggest(profile("C3"), answers(2, 2, 2), Decimal("12345.67"), "zh")
    assert [s.product.id for s in result.shown] == ["AX-BF-01", "AX-WM-01", "AX-HF-02"]
    assert [p.id for p in result.also_fit] == ["AX-BF-02", "AX-SD-01", "AX-DEP-01"]
    missed = dict((p.id, m) for p, m in result.level_only)
    assert missed["AX-WM-02"] == ("liquidity",) and missed["AX-DEP-02"] == ("horizon", "min_amount")
    assert missed["AX-INS-01"] == ("horizon",) and missed["AX-HF-01"] == ("goal",)
    assert result.shown[1].reason.startswith("期限 90 天封闭期，符合您 1–3 年的投资期限；符合您“获得稳定收入”的目标")


@pytest.mark.parametrize("language,expected", [
    ("zh", "期限 1 年，符合您 1–3 年的投资期限；符合您“保持本金稳定”的目标；可提前支取，提前支取部分按活期利率计息；"
           "起投 50.00 元，在您的可用资金以内"),
    ("en", "term 1 year fits your horizon of 1–3 years; matches your goal: keep the principal stable; "
           "Early withdrawal allowed; the withdrawn part earns the demand-deposit rate; "
           "minimum CNY 50.00, within the funds you have available"),
])
def test_the_reason_line_for_a_cautious_customer(language, expected):
    result = suggestions.suggest(profile("C1"), answers(2, 1, 3), Decimal("5000"), language)
    assert [s.product.id for s in result.shown] == ["AX-MMF-01", "AX-DEP-01"]  # open-ended first
    assert result.shown[1].reason == expected
    assert [(p.id, m) for p, m in result.level_only] == [("AX-DEP-02", ("horizon", "min_amount"))]


def test_funds_below_every_minimum_and_the_liquidity_need_derived_from_income():
    assert suggestions.suggest(profile("C5"), answers(4, 4, 4), Decimal("5"), "zh").shown == ()
    assert suggestions.liquidity_need(answers(3, 3, 1)) == "high"
    assert suggestions.liquidity_need(answers(1, 3, 4)) == "high"
    assert suggestions.liquidity_need(answers(3, 3, 2)) == "medium"
    assert suggestions.liquidity_need(answers(3, 3, 3)) == "low"
    high = suggestions.suggest(profile("C5"), answers(4, 2, 1), Decimal("2000000"), "zh")
    assert high.shown and all(FIT["products"][s.product.id]["exit"] == "anytime" for s in high.shown)


def test_no_valid_assessment_or_no_answers_means_nothing_suggested():
    assert suggestions.suggest(None, answers(2, 2, 2), Decimal("1000"), "zh").refused == "no_assessment"
    assert suggestions.suggest(profile("C3", 400), answers(2, 2, 2), Decimal("1000"), "zh").refused == "expired"
    refused = suggestions.suggest(profile("C3"), {}, Decimal("1000"), "zh")
    assert refused.refused == "incomplete_answers" and refused.shown == ()


def test_age_does_not_change_a_suggestion():
    young, old = answers(3, 3, 3), {**answers(3, 3, 3), "ra_age_band": 4}
    assert suggestions.suggest(profile("C4"), young, Decimal("100000"), "zh") == \
        suggestions.suggest(profile("C4"), old, Decimal("100000"), "zh")


def test_reasons_pass_the_guard_after_the_warning():
    warning = "理财非存款、产品有风险、投资须谨慎"
    for level, horizon, goal, income, funds in CASES[::7]:
        for language in ("zh", "en"):
            for s in suggestions.suggest(profile(level), answers(horizon, goal, income), funds, language).shown:
                assert guard.check_message(s.reason, earlier_in_turn=[warning]) == []


def term_months(term_zh: str) -> int:
    if "开放式" in term_zh or "无固定期限" in term_zh:
        return 0
    number, unit = re.search(r"(\d+)\s*(年|个月|天)", term_zh).groups()
    return {"年": 12 * int(number), "个月": int(number), "天": round(int(number) / 30)}[unit]


def exit_of(liquidity_zh: str) -> str:
    if "不可赎回" in liquidity_zh or "不可提前支取" in liquidity_zh:
        return "closed"
    if "提前支取" in liquidity_zh or "退保" in liquidity_zh:
        return "at_cost"
    return "anytime"


@pytest.mark.parametrize("product", catalogue.products(), ids=lambda p: p.id)
def test_the_fit_data_agrees_with_the_catalogue(product):
    fit = FIT["products"][product.id]
    assert fit["commitment_months"] == term_months(product.term["zh"])
    assert fit["exit"] == exit_of(product.liquidity["zh"])
    assert fit["purposes"] and set(fit["purposes"]) <= set(FIT["goals"].values())


def test_every_fit_entry_is_a_catalogue_product():
    assert set(FIT["products"]) == {p.id for p in catalogue.products()}


def test_suggestions_for_a_demo_customer_use_the_assessment_on_file():
    result = suggestions.suggest_for("demo-c3", Decimal("12345.67"), "zh")
    assert [s.product.id for s in result.shown] == ["AX-BF-01", "AX-WM-01", "AX-HF-02"]
    assert suggestions.suggest_for("demo-expired", Decimal("12345.67"), "zh").refused == "expired"
    assert suggestions.suggest_for("never-assessed", Decimal("12345.67"), "zh").refused == "no_assessment"
