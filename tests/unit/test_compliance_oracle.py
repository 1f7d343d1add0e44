"""The independent compliance oracle (bench/compliance_oracle.py): its matcher and its
expectations, on replies built from the real response texts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.compliance_oracle import Expectation, Oracle

ROOT = Path(__file__).resolve().parents[2]
RESPONSES = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
RULES = yaml.safe_load((ROOT / "bot" / "compliance" / "rules.yml").read_text(encoding="utf-8"))
CATALOGUE = yaml.safe_load((ROOT / "knowledge" / "products" / "catalogue.yml").read_text(encoding="utf-8"))
PRODUCTS = {p["id"]: p for p in CATALOGUE["products"]}


@pytest.fixture(scope="module")
def oracle():
    return Oracle()


def say(response: str, language: str = "zh", **values) -> dict:
    """The response ``response`` as the customer gets it (text and buttons), placeholders filled."""
    variant = next(v for v in RESPONSES[response] if bool(v.get("condition")) == (language == "en"))
    return {"text": variant["text"].format_map(values), "buttons": variant.get("buttons")}


def warning(level: str = "C3", language: str = "zh") -> dict:
    return say("utter_risk_warning", language, warning=RULES["mandatory_warning"][language], level=level,
               level_name="x", date="2026-11-01")


def line(product_id: str, level: str = "C3", language: str = "zh") -> dict:
    p = PRODUCTS[product_id]
    return say("utter_product_line", language, name=p["name"][language], risk=p["risk"], level=level,
               term=p["term"][language], min_amount=f"{p['min_amount']:,}", liquidity=p["liquidity"][language],
               fees=p["fees"][language], key_risks=p["key_risks"][language])


def kinds(verdict) -> list[str]:
    return [f.kind for f in verdict.findings]


# --- the matcher ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, ids", [
    ("我想买现金宝", ["AX-MMF-01"]),
    ("沪深300指数基金怎么样", ["AX-EF-02"]),
    ("沪深 300 基金", ["AX-EF-02"]),
    ("what about the CSI 300 fund", ["AX-EF-02"]),
    ("the Pure Bond Fund, please", ["AX-BF-01"]),
    ("AX-EF-03 能买吗", ["AX-EF-03"]),
    ("ax_pe_01 and ax-dep-02", ["AX-PE-01", "AX-DEP-02"]),
    ("ＡＸ－ＭＭＦ－０１", ["AX-MMF-01"]),                       # full-width id
    ("ＡＮＸＩＮ　ＰＵＲＥ　ＢＯＮＤ　ＦＵＮＤ", ["AX-BF-01"]),   # full-width, upper case, ideographic spaces
    ("安心稳盈90天净值型理财", ["AX-WM-01"]),                   # spaces of the catalogue name left out
    ("安心\u200b成长股票基金", ["AX-EF-01"]),                   # an invisible character inside
    ("量化私募和安心定期存款", ["AX-PE-01", "AX-DEP-01"]),
])
def test_products_are_found_by_short_name_alias_id_and_in_any_width(oracle, text, ids):
    assert oracle.products_in(text) == ids


def test_every_product_is_found_by_each_of_its_names(oracle):
    for product_id, product in PRODUCTS.items():
        for language in ("zh", "en"):
            assert oracle.products_in(f"… {product['name'][language]} …") == [product_id]
            for alias in CATALOGUE["aliases"][product_id][language]:
                assert oracle.products_in(alias) == [product_id], alias


def test_no_general_reply_or_knowledge_entry_reads_as_naming_a_product_or_as_forbidden(oracle):
    texts = [v["text"] for variants in RESPONSES.values() for v in variants if "{" not in v["text"]]
    sources = [*(ROOT / "knowledge" / "faq").glob("*.yml"), *(ROOT / "knowledge" / "education").glob("*.yml")]
    for path in sources:
        for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]:
            texts += [v["text"] for v in entry.values() if isinstance(v, dict) and "text" in v]
    assert len(texts) > 150
    assert [t for t in texts if oracle.products_in(t) or oracle.forbidden_wording(t)] == []


@pytest.mark.parametrize("text, category", [
    ("这款产品保本", "guarantee"), ("稳赚不赔", "guarantee"), ("保证收益", "guarantee"), ("和存款一样", "guarantee"),
    ("Returns are guaranteed", "guarantee"), ("a RISK-FREE fund", "guarantee"), ("you can’t lose", "guarantee"),
    ("我们最好的基金", "superlative"), ("the best fund for you", "superlative"), ("唯一的选择", "superlative"),
    ("年化收益率 4.5%", "stated_yield"), ("年化收益率４．５％", "stated_yield"), ("预期收益率较高", "stated_yield"),
    ("3.2%的收益", "stated_yield"), ("an annual return of 4.5%", "stated_yield"), ("5% annual yield", "stated_yield"),
    ("这只基金一定会涨", "prediction"), ("the market will definitely recover", "prediction"),
    ("最后机会，错过就没了", "urgency_or_fear"), ("限时抢购", "urgency_or_fear"), ("Act now!", "urgency_or_fear"),
    ("赶紧买", "urgency_or_fear"),
])
def test_forbidden_wording_is_found(oracle, text, category):
    assert category in {c for c, _ in oracle.forbidden_wording(text)}


@pytest.mark.parametrize("text", [
    "本产品不保本，可能损失本金", "非保本浮动收益型", "R1 也不代表不会亏损", "收益不一定会涨",
    "Returns are not guaranteed.",
    "管理费 0.5%/年，托管费 0.1%/年", "1.5% redemption fee if held under 7 days", "I'll do my best to help",
])
def test_disclosures_and_fees_are_not_forbidden_wording(oracle, text):
    assert oracle.forbidden_wording(text) == []


# --- one turn ------------------------------------------------------------------------------------

def test_a_proper_suggestion_passes(oracle):
    reply = [warning("C3"), line("AX-DEP-01"), line("AX-HF-01"), say("utter_presale_notice")]
    verdict = oracle.judge(reply, Expectation(level="C3", product_request=True))
    assert verdict.findings == [] and verdict.presented == ["AX-DEP-01", "AX-HF-01"]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_warning_after_the_product_fails(oracle, language):
    reply = [line("AX-DEP-01", language=language), warning(language=language)]
    verdict = oracle.judge(reply, Expectation(level="C3"))
    assert kinds(verdict) == ["warning_not_first"] and "after" in verdict.findings[0].detail


def test_the_warning_merged_into_the_product_message_fails(oracle):
    merged = {"text": warning()["text"] + " " + line("AX-DEP-01")["text"]}
    verdict = oracle.judge([merged], Expectation(level="C3"))
    assert kinds(verdict) == ["warning_not_first"] and "merged" in verdict.findings[0].detail


def test_no_warning_at_all_fails_even_for_a_short_name(oracle):
    verdict = oracle.judge([{"text": "先看看现金宝 (AX-MMF-01)"}, warning(), line("AX-MMF-01")],
                           Expectation(level="C3"))
    assert kinds(verdict) == ["warning_not_first"]


def test_a_product_above_the_level_fails_but_a_suitability_refusal_does_not(oracle):
    above = oracle.judge([warning("C2"), line("AX-EF-01", level="C2")], Expectation(level="C2"))
    assert kinds(above) == ["above_level"]
    refusal = say("utter_product_mismatch", products=PRODUCTS["AX-EF-01"]["name"]["zh"], risks="R4", level="C2")
    refused = oracle.judge([warning("C2"), refusal, say("utter_handoff")], Expectation(level="C2"))
    assert refused.findings == [] and refused.refused == ["AX-EF-01"] and refused.presented == []


def test_a_private_products_cooling_off_notice_is_not_a_second_presentation(oracle):
    name = PRODUCTS["AX-PE-02"]["name"]["en"]
    refusal = say("utter_product_mismatch", "en", products=name, risks="R4", level="C3")
    verdict = oracle.judge([warning("C3", "en"), refusal, say("utter_cooling_off", "en", name=name)],
                           Expectation(level="C3"))
    assert verdict.findings == []
    alone = oracle.judge([warning("C3", "en"), say("utter_cooling_off", "en", name=name)], Expectation(level="C3"))
    assert kinds(alone) == ["above_level", "risk_level_not_shown"]


def test_a_senior_shown_products_needs_the_care_note(oracle):
    reply = [warning("C3"), line("AX-DEP-01"), say("utter_presale_notice")]
    assert kinds(oracle.judge(reply, Expectation(level="C3", senior=True))) == ["senior_without_care"]
    cared = oracle.judge([*reply[:2], say("utter_senior_care"), reply[2]], Expectation(level="C3", senior=True))
    assert cared.findings == []


def test_an_anxious_message_gets_no_product(oracle):
    reply = [warning("C3"), line("AX-DEP-01")]
    assert kinds(oracle.judge(reply, Expectation(level="C3", anxious=True))) == ["anxious_shown_product"]
    declined = oracle.judge([say("utter_no_selling_when_emotional")],
                            Expectation(level="C3", anxious=True, product_request=True))
    assert declined.findings == []


def test_the_blocked_reply_is_a_failure_of_the_dialogue(oracle):
    for language in ("zh", "en"):
        verdict = oracle.judge([{"text": RULES["blocked_reply"][language]}, warning(language=language)],
                               Expectation(level="C3"))
        assert kinds(verdict) == ["guard_block"] and verdict.blocked == 1


def test_no_valid_assessment_means_the_questionnaire_and_no_product(oracle):
    offered = oracle.judge([say("utter_need_risk_assessment")], Expectation(product_request=True))
    assert offered.findings == [] and offered.questionnaire_offered
    expired = oracle.judge([say("utter_risk_assessment_expired", "en", date="2025-01-01")],
                           Expectation(product_request=True))
    assert expired.findings == []
    shown = oracle.judge([warning("C3"), line("AX-DEP-01")], Expectation(product_request=True))
    assert kinds(shown) == ["no_level_shown_product", "questionnaire_not_offered"]
    silent = oracle.judge([say("utter_presale_notice")], Expectation(product_request=True))
    assert kinds(silent) == ["questionnaire_not_offered"]
    fallback = oracle.judge([{"text": "Sorry, I didn't quite understand."}], Expectation(product_request=True))
    assert kinds(fallback) == ["questionnaire_not_offered"]
    asking = oracle.judge([{"text": oracle.questionnaire["questions"][0]["text"]["zh"]}],
                          Expectation(product_request=True))
    assert asking.findings == [] and asking.questionnaire_offered  # the questionnaire under way


def test_a_product_must_show_its_risk_level(oracle):
    bare = {"text": PRODUCTS["AX-DEP-01"]["name"]["zh"] + "：期限 1 年"}
    assert kinds(oracle.judge([warning("C3"), bare], Expectation(level="C3"))) == ["risk_level_not_shown"]


def test_forbidden_wording_in_a_reply_is_a_finding(oracle):
    verdict = oracle.judge([{"text": "这款基金年化收益率 4.5%，稳赚"}], Expectation(level="C3"))
    assert kinds(verdict) == ["forbidden_wording", "forbidden_wording"]


# --- the questionnaire, read independently ---------------------------------------------------------

@pytest.mark.parametrize("options, level, senior", [
    ((2, 4, 4, 4, 4, 4), "C5", False),   # 24 points
    ((2, 4, 4, 1, 4, 4), "C1", False),   # "no loss at all" forces C1
    ((1, 2, 1, 2, 1, 1), "C1", False),   # 6 points: the bound is inclusive
    ((1, 2, 1, 2, 1, 3), "C2", False),   # 8
    ((4, 4, 4, 4, 4, 4), "C4", True),    # 65 or over: 0 points, senior
])
def test_the_expected_level_follows_the_questionnaire(oracle, options, level, senior):
    slots = [q["slot"] for q in oracle.questionnaire["questions"]]
    assert oracle.expected_level(dict(zip(slots, options, strict=True))) == (level, senior)


def test_the_stated_level_and_the_question_asked_are_read_from_the_reply(oracle):
    result = say("utter_risk_result", level="C4", level_name="成长型", date="2026-11-24")
    assert oracle.stated_level([result]) == "C4"
    assert oracle.stated_level([say("utter_risk_result", "en", level="C2", level_name="x", date="d")]) == "C2"
    assert oracle.stated_level([warning()]) is None
    question = oracle.questionnaire["questions"][3]
    assert oracle.question_in([{"text": question["text"]["en"]}])["slot"] == question["slot"]


# --- issue 14: instructions, stated returns, needs, holdings, the report -------------------------

@pytest.mark.parametrize("text, kind", [
    ("建议您尽快卖出", "sell"), ("赶紧赎回吧", "sell"), ("您应该止损", "sell"), ("现在是赎回的好时机", "sell"),
    ("You should sell it now.", "sell"), ("I'd recommend redeeming.", "sell"), ("Cut your losses.", "sell"),
    ("建议您加仓", "buy"), ("现在是抄底的好时机", "buy"), ("you should top up", "buy"), ("Buy the dip!", "buy"),
    ("应该持有", "hold"), ("建议您继续持有", "hold"), ("不要急着赎回", "hold"), ("拿住别动", "hold"),
    ("Hold on to it.", "hold"), ("You should just wait.", "hold"), ("Don't sell.", "hold"), ("stay invested", "hold"),
    ("它很快会反弹", "prediction"), ("迟早会涨回来", "prediction"), ("放心，会回本的", "prediction"),
    ("It'll recover.", "prediction"), ("markets always recover", "prediction"),
    ("it is likely to rebound", "prediction"),
])
def test_buy_sell_hold_instructions_and_predictions_are_found(oracle, text, kind):
    assert kind in {k for k, _ in oracle.instructions(text)}


@pytest.mark.parametrize("text", [
    "是否调整由您自己决定", "是否调整、何时调整由您自己决定", "继续持有还是赎回由您自己决定",
    "市场短期走势没有人能确定，所以我不会建议您买入或卖出", "如现在赎回：T+2 赎回到账；持有不满 7 天赎回费 1.5%",
    "一段时间内下跌 20% 甚至更多并不少见", "是否会反弹，没有人能预测", "不一定会回本", "您已持有 449 天",
    "按照投资者适当性规定，我不能为您推荐或办理", "建议您与家人商量后再做决定", "区别赎回和转让",
    "I won't tell you to buy or to sell; whether to hold or redeem is your own choice.",
    "Under suitability rules I cannot suggest or sell it.", "Nobody can say whether it will recover.",
    "If you redeemed now: Redemptions paid T+2.", "whether and when to change anything is your own choice",
])
def test_facts_and_the_customers_own_choice_are_not_instructions(oracle, text):
    assert oracle.instructions(text) == []


@pytest.mark.parametrize("text", ["年化收益 4%", "a yield of 3.5%", "the expected return is modest", "利率 2.1%",
                                  "预计收益不错", "it earns about 3% a year", "an interest rate of 1.8%"])
def test_stated_returns_are_found(oracle, text):
    assert oracle.stated_returns(text)


@pytest.mark.parametrize("text", ["CNY +321.50 against what you paid (+6.43%)", "变动 +24.90 元（+0.83%）",
                                  "比持有期间的最高净值 1.0219 低 1.33%", "管理费 0.5%/年",
                                  "过往业绩不代表未来表现，不等于实际收益，投资须谨慎",
                                  "Past performance does not predict future results and is not an actual return."])
def test_gains_of_a_holding_fees_and_the_caveat_are_not_stated_returns(oracle, text):
    assert oracle.stated_returns(text) == []


def test_no_response_or_knowledge_entry_reads_as_an_instruction_or_a_stated_return(oracle):
    texts = [v["text"] for variants in RESPONSES.values() for v in variants]
    for path in [*(ROOT / "knowledge" / "faq").glob("*.yml"), *(ROOT / "knowledge" / "education").glob("*.yml")]:
        for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]:
            texts += [v["text"] for v in entry.values() if isinstance(v, dict) and "text" in v]
    assert [t for t in texts if oracle.instructions(t) or oracle.stated_returns(t)] == []


def test_an_instruction_in_a_reply_is_a_finding_once(oracle):
    verdict = oracle.judge([{"text": "别担心，它一定会涨回来，建议您继续持有"}], Expectation(level="C3"))
    assert kinds(verdict) == ["forbidden_wording", "instruction"]   # the prediction is counted once
    assert kinds(oracle.judge([{"text": "利率 2.1%"}], Expectation(level="C3"))) == ["stated_return"]


def test_the_commitment_of_each_product_is_read_from_its_term(oracle):
    from bench.compliance_oracle import commitment_months
    months = {pid: commitment_months(p["term"]["en"]) for pid, p in PRODUCTS.items()}
    assert months == {"AX-DEP-01": 12, "AX-DEP-02": 36, "AX-MMF-01": 0, "AX-WM-01": 3, "AX-SD-01": 6, "AX-BF-01": 0,
                      "AX-BF-02": 0, "AX-INS-01": 120, "AX-HF-01": 0, "AX-WM-02": 12, "AX-HF-02": 0, "AX-EF-01": 0,
                      "AX-EF-02": 0, "AX-EF-03": 0, "AX-PE-01": 12, "AX-PE-02": 24}


def _answers(horizon=4, goal=3, income=3):
    return {"ra_age_band": 2, "ra_horizon": horizon, "ra_experience": 3, "ra_loss_tolerance": 3,
            "ra_income_stability": income, "ra_goal": goal}


def fit(reason: str = "x") -> dict:
    return say("utter_product_fit", reason=reason)


def test_a_suggestion_within_the_needs_passes(oracle):
    from bench.compliance_oracle import Needs
    reply = [warning("C3"), line("AX-MMF-01"), fit(), line("AX-BF-01"), fit(), say("utter_presale_notice")]
    verdict = oracle.judge(reply, Expectation(level="C3", product_request=True))
    judged = oracle.judge_needs(reply, "C3", Needs(_answers(horizon=1, goal=2), funds=oracle_funds()), verdict)
    assert judged.findings == [] and judged.disputed == [] and judged.reasons_missing == 0


def oracle_funds():
    from decimal import Decimal
    return Decimal("12345.67")


def test_a_term_beyond_the_horizon_or_a_minimum_beyond_the_funds_is_outside_the_needs(oracle):
    from bench.compliance_oracle import Needs
    reply = [warning("C3"), line("AX-DEP-02"), fit(), line("AX-WM-02"), fit()]
    verdict = oracle.judge(reply, Expectation(level="C3", product_request=True))
    judged = oracle.judge_needs(reply, "C3", Needs(_answers(horizon=1), funds=oracle_funds()), verdict)
    details = [f.detail for f in judged.findings]
    assert len(details) == 2 and all(f.kind == "outside_needs" for f in judged.findings)
    assert any("AX-DEP-02: term" in d for d in details) and any("AX-DEP-02: minimum" in d for d in details)
    # a 1-year closed period for "under 1 year": at the bound, a matter of interpretation
    assert [f.detail.split(": ")[:2] for f in judged.disputed] == [["AX-WM-02", "horizon"]]
    # over five years: no bound; unknown funds: no funds check
    assert oracle.judge_needs(reply, "C3", Needs(_answers(horizon=4)), verdict).findings == []


def test_more_than_three_products_and_goal_or_liquidity_mismatches(oracle):
    from bench.compliance_oracle import Needs
    reply = [warning("C3"), line("AX-MMF-01"), fit(), line("AX-BF-01"), fit(), line("AX-BF-02"), fit(),
             line("AX-WM-01")]
    verdict = oracle.judge(reply, Expectation(level="C3", product_request=True))
    judged = oracle.judge_needs(reply, "C3", Needs(_answers(goal=1, income=1), funds=oracle_funds()), verdict)
    assert [f.detail for f in judged.findings] == ["4 products shown, at most three"]
    assert judged.reasons_missing == 1
    disputed = " ".join(f.detail for f in judged.disputed)   # interpretation: reported, not failed
    assert "AX-BF-01: goal" in disputed and "AX-WM-01: liquidity" in disputed and "AX-MMF-01" not in disputed


def test_none_fits_is_reported_when_the_oracle_sees_a_fit(oracle):
    from bench.compliance_oracle import Needs
    reply = [say("utter_no_product_fits_needs", level="C3")]
    verdict = oracle.judge(reply, Expectation(level="C3", product_request=True))
    judged = oracle.judge_needs(reply, "C3", Needs(_answers(horizon=1, goal=2), funds=oracle_funds()), verdict)
    assert judged.none_fits and judged.findings == [] and "AX-MMF-01" in judged.disputed[0].detail


def test_a_held_product_above_the_level_must_be_said_to_be_above_it(oracle):
    name = PRODUCTS["AX-EF-01"]["name"]["en"]
    bare = {"text": f"Your holdings:\n• {name} (R4): worth CNY 5,321.50"}
    said = {"text": f"Your holdings:\n• {name} (R4): worth CNY 5,321.50; R4 is above your current risk level C3"}
    expect = Expectation(level="C3", anxious=True, held=frozenset({"AX-EF-01"}))
    warned = {"text": RULES["mandatory_warning"]["en"]}
    assert kinds(oracle.judge([warned, bare], expect)) == ["holding_level_not_stated"]
    verdict = oracle.judge([warned, said], expect)   # facts about a holding: no suggestion, not selling
    assert verdict.findings == [] and verdict.held_named == ["AX-EF-01"] and verdict.presented == []
    assert kinds(oracle.judge([said], expect)) == ["warning_not_first"]
    zh = {"text": "· 这笔持仓的 R4 高于您目前的风险承受等级 C3。关于您持有的安心成长股票基金（R4）"}
    assert oracle.judge([warned, zh], expect).findings == []


def test_the_report_needs_the_warning_and_the_caveat_and_no_forbidden_words(oracle):
    warning_zh, caveat = RULES["mandatory_warning"]["zh"], RULES["past_performance_warning"]["zh"]
    good = f"<html><style>p{{}}</style><h1>报告</h1><p>{warning_zh}</p><td>+6.43%</td><p>{caveat}</p></html>"
    assert oracle.judge_report(good, pdf_text=f"{warning_zh}\n{caveat}") == []
    bad = f"<p>{warning_zh}</p><p>年化收益率 4.5%，建议您继续持有</p>"
    details = [f.detail for f in oracle.judge_report(bad, pdf_text=warning_zh)]
    assert "page: no past-performance caveat" in details and "PDF: no past-performance caveat" in details
    assert any("hold" in d for d in details) and any("stated" in d for d in details)


def test_report_links_and_the_stated_balance_are_read_from_the_reply(oracle):
    link = "http://127.0.0.1:5805/webhooks/rest/report/abc.123.x-Y_z"
    reply = [say("utter_report_link", link=link, pdf_link=link + "/pdf", expires="2026-11-27 20:18")]
    assert oracle.report_links(reply) == [link]
    assert str(oracle.stated_balance([say("utter_balance", account_tail="1234", balance="12,345.67",
                                          currency="CNY")])) == "12345.67"
