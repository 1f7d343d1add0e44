import shutil
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from bot.compliance import guard, rulebook
from bot.compliance.outgoing import Outgoing
from bot.compliance.risk_profile import RiskProfile

WARNING_ZH = "理财非存款、产品有风险、投资须谨慎"


@pytest.mark.parametrize("text, rule", [
    ("这款产品保本保收益", "guarantees"),
    ("和存款一样安全", "guarantees"),
    ("This fund is risk-free", "guarantees"),
    ("you can't lose with this", "guarantees"),
    ("这是我们最好的产品", "superlatives"),
    ("最后机会，错过就没了", "urgency_and_fear"),
    ("Act now before it's too late", "urgency_and_fear"),
    ("预期收益率 4.5%", "stated_yield"),
    ("年化收益3.2%", "stated_yield"),
    ("it pays 5% annual return", "stated_yield"),
    ("expected yield is high", "stated_yield"),
    ("这只基金明年一定会涨", "prediction"),
    ("the market will definitely recover", "prediction"),
])
def test_forbidden_wording_is_caught(text, rule):
    assert rule in {v.rule for v in guard.check_message(text)}


@pytest.mark.parametrize("text", [
    "您的账户可用余额为 12,345.67 CNY。",
    "转账手续费和限额因渠道而不同，以本行公布的最新收费标准为准。",
    "Your balance is CNY 100.00.",
    "管理费 0.5%/年",  # a fee from a product sheet is a fact, not a promised yield
])
def test_ordinary_banking_text_passes(text):
    assert guard.check_message(text) == []


def test_product_named_without_warning_is_blocked():
    assert [v.rule for v in guard.check_message("推荐安心纯债债券基金")] == ["missing_warning"]
    assert [v.rule for v in guard.check_message("Try the Anxin Pure Bond Fund")] == ["missing_warning"]


def test_product_named_after_the_warning_in_the_same_turn_passes():
    assert guard.check_message("安心纯债债券基金：风险等级 R2", earlier_in_turn=[f"【风险提示】{WARNING_ZH}。"]) == []
    assert guard.check_message(f"{WARNING_ZH}。安心纯债债券基金") == []


def test_rules_reload_without_restart(tmp_path, monkeypatch):
    rules_file = tmp_path / "rules.yml"
    shutil.copy(rulebook.DEFAULT_RULES, rules_file)
    monkeypatch.setenv("ANXIN_COMPLIANCE_RULES", str(rules_file))
    assert guard.check_message("稳稳的幸福") == []
    raw = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    raw["forbidden_phrases"]["guarantees"].append("稳稳的幸福")
    rules_file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    import os
    os.utime(rules_file, ns=(rules_file.stat().st_atime_ns, rules_file.stat().st_mtime_ns + 1_000_000))
    assert [v.rule for v in guard.check_message("稳稳的幸福")] == ["guarantees"]


# --- every part of a message (text, buttons, quick replies, custom JSON, attachments, images) ---

WARNING_EN = "Wealth products are not deposits; they carry risk; invest with care."
TODAY = datetime.now(timezone.utc)


def profile(level, days_ago=10):
    return lambda: RiskProfile(level, None, False, TODAY - timedelta(days=days_ago))


def rules_of(violations):
    return sorted({(v.rule, v.part) for v in violations})


def check(message, earlier=(), customer=None):
    return guard.check_message(Outgoing.of(message), earlier, customer)


@pytest.mark.parametrize("text", ["现金宝的起购金额是 1 元", "产品 AX-MMF-01 的起购金额",
                                  "沪深300指数基金：风险等级 R4"])
def test_short_names_and_ids_need_the_warning_too(text):
    assert [v.rule for v in guard.check_message(text)] == ["missing_warning"]
    assert guard.check_message(text, earlier_in_turn=[WARNING_ZH]) == []


@pytest.mark.parametrize("text, rule", [
    ("这款产品保\u200b本", "guarantees"),      # a zero-width space
    ("这款产品保 本", "guarantees"),
    ("ＲＩＳＫ－ＦＲＥＥ", "guarantees"),        # full-width
    ("年化收益５％", "stated_yield"),
    ("一 定 会 涨", "prediction"),
])
def test_forbidden_wording_in_other_spellings_is_caught(text, rule):
    assert rule in {v.rule for v in guard.check_message(text)}


def test_a_product_named_only_in_a_button_needs_the_warning_first():
    message = {"text": "您可以看看这款：", "buttons": [{"title": "现金宝", "payload": "/product_facts"}]}
    assert rules_of(check(message, customer=profile("C3"))) == [("missing_warning", "button")]
    assert check(message, earlier=[f"【风险提示】{WARNING_ZH}。"], customer=profile("C3")) == []
    assert check({**message, "text": f"{WARNING_ZH}。您可以看看这款："}, customer=profile("C3")) == []


def test_a_warning_inside_a_button_does_not_count():
    message = {"text": "请看：", "buttons": [{"title": WARNING_ZH, "payload": "/ok"},
                                            {"title": "安心纯债", "payload": "/product_facts"}]}
    assert rules_of(check(message, customer=profile("C3"))) == [("missing_warning", "button")]


def test_a_product_id_in_a_button_payload_is_a_product():
    message = {"text": WARNING_ZH,
               "buttons": [{"title": "了解更多", "payload": '/product_facts{"product": "AX-EF-03"}'}]}
    assert rules_of(check(message, customer=profile("C3"))) == [("unsuitable_offer", "button")]
    assert check(message, customer=profile("C5")) == []


def test_a_button_offer_must_be_within_a_valid_level():
    message = {"text": WARNING_EN, "buttons": [{"title": "Anxin Tech Fund", "payload": "/buy"}]}  # R5
    assert check(message, customer=profile("C5")) == []
    for customer in (profile("C4"), profile("C5", days_ago=400), lambda: None, None):
        assert rules_of(check(message, customer=customer)) == [("unsuitable_offer", "button")]


def test_facts_in_the_text_may_name_a_product_above_the_level():
    """Rule "facts for everyone": the text may tell an R5 product's facts to a C2 customer (after
    the warning); only an offer to tap is held to the level."""
    assert check({"text": f"{WARNING_ZH}。安心科技创新股票基金：风险等级 R5"}, customer=profile("C2")) == []


def test_quick_replies_are_checked():
    message = {"text": "还有问题吗？", "quick_replies": [{"title": "稳赚的产品", "payload": "/ask"}]}
    assert rules_of(check(message)) == [("guarantees", "quick_reply")]
    offer = {"text": WARNING_ZH, "quick_replies": [{"title": "量化私募", "payload": "/ask"}]}  # R5
    assert rules_of(check(offer, customer=profile("C3"))) == [("unsuitable_offer", "quick_reply")]


@pytest.mark.parametrize("custom, rule", [
    ({"card": {"subtitle": "最后机会"}}, "urgency_and_fear"),
    ({"cards": [{"body": '{"note": "\\u4fdd\\u672c\\u4fdd\\u6536\\u76ca"}'}]}, "guarantees"),  # JSON in a string
    ({"product": {"code": "AX-MMF-01"}}, "missing_warning"),
    ({"AX-BF-02": True}, "missing_warning"),  # in a key
])
def test_custom_payloads_are_walked_to_the_last_string(custom, rule):
    assert rules_of(check({"text": "", "custom": custom}, customer=profile("C5"))) == [(rule, "custom")]


@pytest.mark.parametrize("attachment, rule", [
    ("https://cdn.example.com/docs/%E4%BF%9D%E6%9C%AC%E6%8C%87%E5%8D%97.pdf", "guarantees"),  # 保本指南.pdf
    ("https://cdn.example.com/docs/risk-free-returns.pdf", "guarantees"),
    ({"type": "file", "payload": {"url": "https://cdn.example.com/f.pdf", "filename": "稳赚不赔.pdf"}}, "guarantees"),
    ("https://cdn.example.com/sheets/AX-PE-02.pdf", "missing_warning"),
])
def test_attachments_urls_and_file_names_are_checked(attachment, rule):
    assert rule in {v.rule for v in check({"text": "附件", "attachment": attachment}, customer=profile("C5"))}


def test_image_urls_and_alt_texts_are_checked():
    assert rules_of(check({"text": "", "image": {"url": "https://cdn.example.com/a.png", "alt": "稳赚不赔"}})) == [
        ("guarantees", "image")]
    assert rules_of(check({"text": "", "image": "https://cdn.example.com/best-product.png"})) == [
        ("superlatives", "image")]
    assert rules_of(check({"text": "", "elements": [{"title": "安心红利", "image_url": "https://x/y.png"}]},
                          customer=profile("C5"))) == [("missing_warning", "elements")]


def test_ordinary_buttons_and_rasa_metadata_pass():
    """The template's variables and Rasa's metadata travel in the same dictionary but are not sent."""
    message = {"text": "需要的话，我可以为您转接人工客服。",
               "buttons": [{"title": "转人工客服", "payload": "/request_human"}],
               "utter_action": "utter_offer_person", "name": "安心科技创新股票基金", "timestamp": 1.5}
    assert check(message) == []
    questionnaire = {"text": "问题 1/6",
                     "buttons": [{"title": "A. 30 岁以下", "payload": '/choose_option{"option": "1"}'}]}
    assert check(questionnaire) == []
