import pytest

from bot.compliance import suitability


@pytest.mark.parametrize("text, advice", [
    ("安心纯债债券基金能买吗", True), ("我坚持要买现金宝", True), ("帮我买安心纯债债券基金", True),
    ("推荐个基金", True),
    ("just sell me the Anxin Pure Bond Fund", True), ("can i buy the CSI 300 index fund?", True),
    ("i insist on buying the cash fund", True), ("recommend a fund", True),
    ("现金宝赎回几天到账", False), ("纯债基金的申购费是多少", False), ("买基金有哪些费用", False),
    ("what does it cost to hold this fund", False), ("is the 90-day product principal-protected", False)])
def test_requests_to_buy_or_be_advised_are_told_from_fact_questions(text, advice):
    """A request to buy or be advised goes through the gate even when the NLU reads it as a
    question about facts (actions/product_facts.py)."""
    assert suitability.asks_for_advice(text) is advice


def test_worry_said_outright_holds_back_selling_even_when_the_model_reads_calm():
    """Holding back a pitch is the low-threshold decision: a reviewed worry word is enough."""
    from datetime import datetime, timezone

    from bot.compliance.risk_profile import RiskProfile

    profile = RiskProfile("C3", 30, False, datetime.now(timezone.utc))
    assert suitability.decide(profile, "我好慌，有没有稳一点的产品推荐", "calm").kind == "emotional"
    assert suitability.decide(profile, "i'm scared, recommend something safe", "calm").kind == "emotional"
    assert suitability.decide(profile, "有没有稳一点的产品推荐", "calm").kind == "suggest"
