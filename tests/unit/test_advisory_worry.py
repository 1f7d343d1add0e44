"""Worry grounded in holdings (bot/advisory/worry.py): the holding concerned is the one named,
else one of the type mentioned, else the largest loss; the facts are numbers, the level and what
it means, the customer's own horizon and the cost of redeeming; never buy, sell, hold or a
prediction (checked by the guard and by a word list of our own)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.advisory import assessment, valuation, worry
from bot.advisory.holdings import Holding
from bot.compliance import guard
from bot.compliance.risk_profile import RiskProfile

AS_OF = date(2026, 11, 24)
BOUGHT = date(2026, 5, 8)


def history(product_id: str, end: date):
    """Equity fund: bought at 1.0, peaked at 1.25, now 0.95; bond fund: slightly down; money fund flat."""
    points = {"AX-EF-01": [(BOUGHT, "1.0000"), (date(2026, 7, 15), "1.2500"), (AS_OF, "0.9500")],
              "AX-BF-01": [(BOUGHT, "1.0000"), (AS_OF, "0.9900")],
              "AX-MMF-01": [(BOUGHT, "1.0000"), (AS_OF, "1.0100")]}[product_id]
    return tuple((day, Decimal(v)) for day, v in points if day <= end)


ASSESSED = datetime(2026, 10, 25, tzinfo=timezone.utc)
PROFILE = RiskProfile("C4", 19, False, max(ASSESSED, datetime.now(timezone.utc) - timedelta(days=30)))
HELD = [Holding("c-w", "AX-EF-01", Decimal("1000.00"), Decimal("1000.00"), BOUGHT),
        Holding("c-w", "AX-BF-01", Decimal("2000.00"), Decimal("2000.00"), BOUGHT),
        Holding("c-w", "AX-MMF-01", Decimal("500.00"), Decimal("500.00"), BOUGHT)]
ANSWERS = {"ra_age_band": 2, "ra_horizon": 3, "ra_experience": 3, "ra_loss_tolerance": 3,
           "ra_income_stability": 3, "ra_goal": 3}
# Our own list, apart from the guard's: advice to act, and predictions.
ADVICE_OR_PREDICTION = re.compile(
    r"买入|卖出|卖掉|加仓|减仓|抄底|止损|割肉|补仓|继续持有|建议持有|建议您|应该|赶紧|会反弹|会回升|会涨|会跌|一定会|肯定会|"
    r"\bbuy\b|\bsell\b|\bhold\b|hold on|\bshould\b|recommend|will (rise|fall|recover|rebound|go)|bounce back",
    re.IGNORECASE)


def folio(profile: RiskProfile | None = PROFILE) -> valuation.Portfolio:
    return valuation.value("c-w", HELD, profile, AS_OF, history)


@pytest.mark.parametrize("message,product,found_by", [
    ("安心纯债最近跌了，我好担心", "AX-BF-01", "named"),
    ("is the Anxin Cash Fund losing money?", "AX-MMF-01", "named"),
    ("我的股票基金跌了好多怎么办", "AX-EF-01", "type"),
    ("my bond fund is down, what do I do", "AX-BF-01", "type"),
    ("基金跌了好多怎么办", "AX-EF-01", "type"),  # any fund: the one with the largest loss
    ("市场大跌，我睡不着", "AX-EF-01", "largest_loss"),
    ("安心科创跌了吗", "AX-EF-01", "largest_loss"),  # a product they do not hold names nothing of theirs
])
def test_the_holding_concerned(message, product, found_by):
    facts = worry.worry_facts(folio(), message, ANSWERS, "zh")
    assert (facts.holding.product.id, facts.found_by) == (product, found_by)


def test_nothing_held_means_no_holding_facts():
    empty = valuation.value("c-0", [], PROFILE, AS_OF, history)
    assert worry.worry_facts(empty, "基金跌了怎么办", ANSWERS, "zh") is None


def test_the_facts_in_chinese():
    facts = worry.worry_facts(folio(), "我的基金跌了好多怎么办", ANSWERS, "zh")
    warning, body = facts.messages
    assert warning == "理财非存款、产品有风险、投资须谨慎"
    assert "安心成长股票基金（R4）" in body
    assert f"您已持有 {(AS_OF - BOUGHT).days} 天" in body
    assert "目前净值 0.9500，比持有期间的最高净值 1.2500（2026-07-15）低 24.00%" in body  # 0.95 / 1.25 - 1
    assert "市值 950.00 元；您投入的金额为 1,000.00 元，变动 -50.00 元（-5.00%）" in body
    assert "R4 主要投资股票等波动较大的资产" in body and "R4 在您目前的风险承受等级 C4 以内" in body
    assert "计划投资的时间是：3–5 年" in body and facts.horizon == "3–5 年"
    assert "如现在赎回：T+3 赎回到账；持有不满 7 天赎回费 1.5%；费用：申购费 1.5%" in body
    assert "过往业绩不代表未来表现" in body and "由您自己决定" in body


def test_the_facts_in_english_with_a_holding_above_the_level_and_no_horizon_on_file():
    facts = worry.worry_facts(folio(RiskProfile("C3", None, False, PROFILE.assessed_at)),
                              "my equity fund keeps falling", {}, "en")
    body = facts.messages[1]
    assert facts.messages[0] == "Wealth products are not deposits; they carry risk; invest with care."
    assert "24.00% below the highest it reached while you held it (1.2500 on 2026-07-15)" in body
    assert "worth CNY 950.00; you paid CNY 1,000.00, a change of CNY -50.00 (-5.00%)" in body
    assert "Its R4 is above your current risk level C3." in body
    assert "We have no record of the investment horizon" in body and facts.horizon is None
    assert "If you redeemed now: Redemptions paid T+3" in body


def test_a_holding_at_its_peak_is_said_to_be_there():
    facts = worry.worry_facts(folio(), "现金宝怎么样", ANSWERS, "zh")
    assert "处于持有期间的最高水平" in facts.messages[1]


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("customer", ["demo-c4", "demo-senior", "demo-c2", "demo-c5", "demo-rich", "demo-expired"])
def test_no_advice_to_act_and_no_prediction_and_the_guard_passes(customer, language):
    portfolio = valuation.portfolio(customer)
    answers = assessment.answers(customer)
    for message in ("基金跌了好多怎么办", "should I sell everything", "市场暴跌我很慌"):
        facts = worry.worry_facts(portfolio, message, answers, language)
        assert not ADVICE_OR_PREDICTION.search("\n".join(facts.messages)), (customer, message)
        for i, text in enumerate(facts.messages):
            assert guard.check_message(text, earlier_in_turn=facts.messages[:i]) == []


def test_the_word_list_and_the_guard_would_catch_advice():
    """The checks above can fail: advice and predictions are caught."""
    assert ADVICE_OR_PREDICTION.search("建议您继续持有") and ADVICE_OR_PREDICTION.search("you should sell now")
    assert guard.check_message("理财非存款、产品有风险、投资须谨慎\n这只基金一定会涨") != []


def test_worry_facts_for_a_demo_customer_use_their_holdings_and_their_assessment():
    facts = worry.worry_facts_for("demo-c4", "我的基金跌了好多，怎么办", "zh")
    assert (facts.holding.product.id, facts.found_by, facts.horizon) == ("AX-EF-01", "type", "3–5 年")
    assert "低 21." in facts.messages[1]  # about a fifth below its peak since purchase
    assert worry.worry_facts_for("demo-low-balance", "基金跌了", "zh") is None


def test_a_fund_that_fell_from_its_peak_is_the_one_concerned_not_the_larger_small_loss():
    """"我的基金跌了20%" speaks of a fall: a bond fund with a larger loss in money (-100) but 1%
    down is not what the customer means when an equity fund is 24% below its peak (-50)."""
    held = [Holding("c-w", "AX-EF-01", Decimal("1000.00"), Decimal("1000.00"), BOUGHT),
            Holding("c-w", "AX-BF-01", Decimal("10000.00"), Decimal("10000.00"), BOUGHT)]
    portfolio = valuation.value("c-w", held, PROFILE, AS_OF, history)
    assert min(portfolio.holdings, key=lambda h: h.gain).product.id == "AX-BF-01"  # the case is what it says
    facts = worry.worry_facts(portfolio, "我的基金跌了20%，怎么办", ANSWERS, "zh")
    assert (facts.holding.product.id, facts.found_by) == ("AX-EF-01", "type")
