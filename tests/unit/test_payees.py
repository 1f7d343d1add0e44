"""Payees are matched exactly: a saved name (or an unambiguous alias), never a substring."""

import pytest
import yaml

from bot.accounts.payees import PayeeMatch, match_payee
from bot.compliance import guard
from bot.identity import delivery

SAVED = ("张三", "李四", "王芳", "Alice Wang", "Bob Li")


@pytest.mark.parametrize("text, name", [
    ("张三", "张三"), ("轉給張三", "张三"), ("转给李四吧", "李四"), ("给张三转100", "张三"),
    ("转给张三三百元", "张三"),  # 300 to 张三
    ("alice", "Alice Wang"), ("Wang", "Alice Wang"), ("bob li", "Bob Li"), ("to Bob Li please", "Bob Li"),
    ("send 100 to alice", "Alice Wang"), ("transfer 300 to Bob Li for dinner", "Bob Li"),
])
def test_a_saved_name_or_an_unambiguous_alias_is_found(text, name):
    assert match_payee(SAVED, text) == PayeeMatch(name)


@pytest.mark.parametrize("text", ["张三三", "转给张三三", "给张三三转100", "转100给张三三", "张三丰", "收款人是张三三",
                                  "Bob Lie", "send 100 to Bob Lee"])
def test_a_longer_or_different_name_is_no_match_and_the_near_payee_is_offered(text):
    found = match_payee(SAVED, text)
    assert found.name is None and len(found.near) == 1


def test_two_names_at_once_are_asked_about_and_an_unknown_one_has_no_near_miss():
    assert match_payee(SAVED, "转给张三和李四") == PayeeMatch(None, ("张三", "李四"))
    assert match_payee(SAVED, "王五") == PayeeMatch(None)
    assert match_payee(SAVED, "") == PayeeMatch(None)
    # an alias shared by two payees is nobody's
    assert match_payee(("Bob Li", "Bob Chen"), "bob").name is None


def test_the_reasons_said_about_codes_amounts_and_payees_exist_in_both_languages_and_pass_the_guard():
    texts = yaml.safe_load(delivery.Path(delivery.__file__).with_name("texts.yml").read_text(encoding="utf-8"))
    names = ["step_up_running_total", "step_up_expired", "step_up_not_for_this", "amount_negative", "amount_malformed",
             "amount_not_positive", "amount_several", "amount_too_large", "payee_did_you_mean", "payee_several"]
    for name in names:
        for language in ("zh", "en"):
            said = delivery.text(name, language, total="12,000.00", threshold="5,000.00", typed="1,000,0",
                                 near="张三", payees="张三、李四", limit="100,000,000.00")
            assert said and guard.check_message(said) == [], (name, language)
    assert set(names) <= set(texts)
