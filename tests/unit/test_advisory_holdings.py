"""Holdings (bot/advisory/holdings.py), the assessment answers behind them (assessment.py),
their valuation (valuation.py) checked against hand-computed numbers, and the chat summary
(summary.py): value and gain per holding and in total, levels stated, never "sell"."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.advisory import assessment, holdings, nav, review_flags, summary, valuation
from bot.advisory.holdings import Holding
from bot.compliance import guard, risk_profile
from bot.compliance.risk_profile import RiskProfile

AS_OF = date(2026, 11, 24)
DEMO_WITH_HOLDINGS = ("demo-c1", "demo-c2", "demo-c3", "demo-c4", "demo-c5", "demo-senior", "demo-rich",
                      "demo-expired")


def profile(level: str, days_ago: int = 30) -> RiskProfile:
    return RiskProfile(level, None, False, datetime.now(timezone.utc) - timedelta(days=days_ago))


def fake_history(points: dict[str, list[tuple[date, str]]]):
    """A NAV source with hand-chosen values: {product: [(day, nav), ...]}, any end."""
    def history(product_id: str, end: date):
        return tuple((day, Decimal(v)) for day, v in points[product_id] if day <= end)
    return history


# --- the store and the demo seed ------------------------------------------------------------

def test_most_demo_customers_hold_something_and_a_new_or_unknown_one_nothing():
    for customer in DEMO_WITH_HOLDINGS:
        held = holdings.holdings(customer)
        assert held and all(h.units > 0 and h.cost > 0 for h in held), customer
    assert holdings.holdings("demo-low-balance") == []
    assert holdings.holdings("demo-someone-new") == []


def test_without_demo_mode_the_bank_knows_no_holdings(monkeypatch):
    monkeypatch.setenv("ANXIN_DEMO_MODE", "0")
    assert holdings.holdings("demo-c4") == []


def test_the_demo_seed_is_made_once_with_units_bought_at_that_days_nav():
    first = holdings.holdings("demo-c4")
    assert holdings.holdings("demo-c4") == first  # asked again: the same lots, not a second seed
    equity = next(h for h in first if h.product_id == "AX-EF-01")
    assert equity.cost == Decimal("50000.00") and equity.purchased_on == nav.today() - timedelta(days=200)
    bought_at = nav.nav_on("AX-EF-01", equity.purchased_on)
    assert equity.units == (Decimal("50000.00") / bought_at).quantize(Decimal("0.01"), rounding="ROUND_DOWN")


def test_demo_stories_a_holding_above_the_level_and_an_equity_fund_a_fifth_below_its_peak():
    for customer in ("demo-c2", "demo-senior"):
        above = valuation.portfolio(customer).above_level
        assert above and all(h.product.risk_rank > risk_profile.current(customer).rank for h in above)
    equity = next(h for h in valuation.portfolio("demo-c4").holdings if h.product.type == "equity_fund")
    assert Decimal("-25") < equity.from_peak_pct < Decimal("-17") and equity.gain < 0


def test_a_purchase_is_recorded_exactly_and_a_second_one_the_same_day_joins_the_lot(monkeypatch):
    monkeypatch.setenv("ANXIN_DEMO_MODE", "0")
    holdings.record_purchase("C2001", "AX-BF-01", Decimal("1000.50"), Decimal("1000.10"), date(2026, 3, 2))
    holdings.record_purchase("C2001", "AX-BF-01", Decimal("10.25"), Decimal("10.33"), date(2026, 3, 2))
    holdings.record_purchase("C2001", "AX-MMF-01", Decimal("5"), Decimal("5"), date(2026, 1, 9))
    assert holdings.holdings("C2001") == [
        Holding("C2001", "AX-MMF-01", Decimal("5.00"), Decimal("5.00"), date(2026, 1, 9)),
        Holding("C2001", "AX-BF-01", Decimal("1010.75"), Decimal("1010.43"), date(2026, 3, 2))]
    with pytest.raises(ValueError):
        holdings.record_purchase("C2001", "AX-BF-01", Decimal("1.001"), Decimal("1"), date(2026, 3, 3))
    with pytest.raises(KeyError):
        holdings.record_purchase("C2001", "AX-NOPE", Decimal("1"), Decimal("1"), date(2026, 3, 3))


def test_demo_answers_score_to_the_demo_levels_on_file():
    for customer, seeded in holdings.demo_data().items():
        on_file = risk_profile.current(customer)
        level, _, senior = risk_profile.score(seeded["answers"])
        assert (level, senior) == (on_file.level, on_file.senior), customer
        assert assessment.answers(customer) == seeded["answers"]


def test_answers_come_from_the_newest_assessment_and_none_without_one(monkeypatch):
    answers = {"ra_age_band": 2, "ra_horizon": 4, "ra_experience": 4, "ra_loss_tolerance": 3,
               "ra_income_stability": 3, "ra_goal": 4}
    level, total, senior = risk_profile.score(answers)
    risk_profile.save("demo-c4", level, score_total=total, senior=senior, answers=answers)
    assert assessment.answers("demo-c4") == answers  # the new assessment, not the demo answers
    assert assessment.answers("nobody-assessed") == {}
    assert assessment.option_label("ra_horizon", 2, "zh") == "1–3 年"
    assert assessment.option_label("ra_horizon", 2, "en") == "1–3 years"
    assert assessment.option_label("ra_horizon", 9, "en") is None


# --- valuation, by hand ----------------------------------------------------------------------

BOUGHT = date(2026, 6, 1)
HISTORY = fake_history({
    "AX-EF-01": [(BOUGHT - timedelta(days=10), "1.5000"),  # before purchase: not the peak since
                 (BOUGHT, "1.0000"), (date(2026, 8, 1), "1.2000"), (date(2026, 9, 1), "1.1000"), (AS_OF, "0.9000")],
    "AX-BF-01": [(date(2026, 1, 5), "1.0000"), (BOUGHT, "1.0100"), (AS_OF, "1.0250")],
})
HELD = [Holding("c-h", "AX-EF-01", Decimal("1000.00"), Decimal("1015.00"), BOUGHT),
        Holding("c-h", "AX-BF-01", Decimal("333.33"), Decimal("336.66"), date(2026, 1, 5))]


def test_values_gains_and_drawdowns_match_hand_computed_numbers():
    folio = valuation.value("c-h", HELD, profile("C3"), AS_OF, HISTORY)
    equity, bond = folio.holdings
    # 1000.00 units x 0.9000 = 900.00; 900.00 - 1015.00 = -115.00; -115 / 1015 = -11.33 %
    assert (equity.nav, equity.value, equity.gain, equity.gain_pct) == \
        (Decimal("0.9000"), Decimal("900.00"), Decimal("-115.00"), Decimal("-11.33"))
    # highest NAV since purchase 1.2000 (the 1.5000 before purchase does not count): 0.9 / 1.2 - 1 = -25 %
    assert (equity.peak_nav, equity.peak_day, equity.from_peak_pct) == \
        (Decimal("1.2000"), date(2026, 8, 1), Decimal("-25.00"))
    assert equity.held_days == (AS_OF - BOUGHT).days and equity.within_level is False  # R4 > C3
    # 333.33 x 1.0250 = 341.663 -> 341.66; 341.66 - 336.66 = +5.00; 5 / 336.66 = 1.49 %; at its peak
    assert (bond.value, bond.gain, bond.gain_pct, bond.from_peak_pct, bond.within_level) == \
        (Decimal("341.66"), Decimal("5.00"), Decimal("1.49"), Decimal("0.00"), True)
    # totals: 1241.66 against 1351.66 -> -110.00, -8.14 %
    assert (folio.total_value, folio.total_cost, folio.total_gain, folio.total_gain_pct) == \
        (Decimal("1241.66"), Decimal("1351.66"), Decimal("-110.00"), Decimal("-8.14"))
    assert folio.level == "C3" and [h.product.id for h in folio.above_level] == ["AX-EF-01"]


def test_with_no_valid_assessment_no_level_is_compared():
    for stale in (None, profile("C5", days_ago=400)):
        folio = valuation.value("c-h", HELD, stale, AS_OF, HISTORY)
        assert folio.level is None and {h.within_level for h in folio.holdings} == {None}
        assert folio.above_level == ()


def test_value_over_time_counts_a_holding_from_its_purchase_day():
    points = dict(valuation.value_over_time(HELD, AS_OF, 400, HISTORY))
    assert points[date(2026, 1, 5)] == Decimal("333.33")           # only the bond: 333.33 x 1.0000
    assert points[BOUGHT] == Decimal("1336.66")                     # 1000 x 1.0 + 333.33 x 1.01 = 1336.6633
    assert points[AS_OF] == Decimal("1241.66")
    assert len(points) == 400


# --- the chat summary --------------------------------------------------------------------------

def sent_in_order_pass_the_guard(messages: list[str]) -> bool:
    return all(not guard.check_message(m, earlier_in_turn=messages[:i]) for i, m in enumerate(messages))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_summary_gives_values_gains_and_levels_warning_first(language):
    folio = valuation.value("c-h", HELD, profile("C3"), AS_OF, HISTORY)
    messages = summary.summary_messages(folio, language)
    warning = {"zh": "理财非存款、产品有风险、投资须谨慎", "en": "Wealth products are not deposits"}[language]
    assert messages[0].startswith(warning) and len(messages) == 2
    body = messages[1]
    for number in ("900.00", "-115.00", "-11.33%", "341.66", "+5.00", "+1.49%", "1,241.66", "-110.00", "-8.14%"):
        assert number in body, number
    if language == "zh":
        assert "R4 高于您目前的风险承受等级 C3（平衡型）" in body and "R2 在您的风险承受等级 C3 以内" in body
        assert "过往业绩不代表未来表现" in body
    else:
        assert "R4 is above your current risk level C3 (balanced)" in body and "R2 is within your risk level C3" in body
        assert "Past performance does not predict future results" in body
    assert not re.search(r"卖出|赎回吧|\bsell\b|\bbuy\b", body, re.IGNORECASE)
    assert sent_in_order_pass_the_guard(messages)


def test_the_summary_without_a_valid_assessment_says_so_and_without_holdings_says_one_thing():
    folio = valuation.value("c-h", HELD, None, AS_OF, HISTORY)
    body = summary.summary_messages(folio, "zh")[1]
    assert "没有有效的风险承受能力评估" in body and "高于" not in body
    assert summary.summary_messages(valuation.value("c-0", [], profile("C3"), AS_OF, HISTORY), "en") == \
        ["You hold no wealth products, funds or deposit investments with us at the moment."]


def test_every_demo_customers_summary_passes_the_guard_in_both_languages():
    for customer in (*DEMO_WITH_HOLDINGS, "demo-low-balance"):
        folio = valuation.portfolio(customer)
        review_flags.flag_holdings_above_level(folio)
        for language in ("zh", "en"):
            assert sent_in_order_pass_the_guard(summary.summary_messages(folio, language)), (customer, language)


def test_the_overview_values_flags_and_words_in_one_call():
    overview = summary.holdings_overview("demo-c2", "en")
    assert [(f.product_id, f.customer_level, f.new) for f in overview.flags] == [("AX-HF-01", "C2", True)]
    assert overview.messages[1].count("•") == len(overview.portfolio.holdings) == 3
    assert "R3 is above your current risk level C2 (cautious)" in overview.messages[1]
    assert "We have asked an advisor to review them" in overview.messages[1]
    assert [f.new for f in summary.holdings_overview("demo-c2", "zh").flags] == [False]
