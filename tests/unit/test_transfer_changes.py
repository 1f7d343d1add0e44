"""A change of mind at the transfer confirmation: the new value is read, never the old one it names
(bot/accounts/changes.py, issue 25), and transfer-limit questions are told apart from fee questions."""

from decimal import Decimal

import pytest

from bot.accounts import limits
from bot.accounts.changes import read_change

PAYEES = ["张三", "李四", "王芳", "Alice Wang", "Bob Li"]
OLD = Decimal("250.00")


@pytest.mark.parametrize("text", ["sorry, make that 300 instead of 250", "no, 300 not 250", "not 250 but 300",
                                  "change 250 to 300", "300 rather than 250", "不是250，是300", "把250改成300",
                                  "300块，不是250块", "不转250了，转300", "make that 300 instead", "不对，改成300",
                                  "250? no, 300"])
def test_the_replacement_amount_is_read_not_the_old_one(text):
    change = read_change(text, PAYEES, OLD)
    assert change.amount is not None and change.amount.value == Decimal("300.00") and change.payee is None


@pytest.mark.parametrize("text, payee", [("actually send it to Alice, not Bob", "Alice Wang"),
                                         ("send it to Alice", "Alice Wang"), ("from Bob to Alice", "Alice Wang"),
                                         ("改成给王芳，不是张三", "王芳"), ("不是李四，是张三", "张三"),
                                         ("改成给王芳", "王芳")])
def test_the_replacement_payee_is_read_not_the_old_one(text, payee):
    change = read_change(text, PAYEES, OLD)
    assert change.payee is not None and change.payee.name == payee and change.amount is None


@pytest.mark.parametrize("text, field", [("金额改一下", "amount"), ("change the payee", "payee"),
                                         ("not 250", "amount"), ("换个收款人", "payee")])
def test_a_change_without_a_new_value_asks_for_it(text, field):
    change = read_change(text, PAYEES, OLD)
    assert change.amount is None and change.payee is None and change.asks == field


def test_two_new_looking_amounts_stay_ambiguous_and_a_comma_is_no_thousands_separator():
    assert read_change("100，200", PAYEES, OLD).amount.problem == "several"
    assert read_change("确认", PAYEES, OLD).nothing


@pytest.mark.parametrize("text, about_limits", [("每天最多能转多少钱", True), ("what's my daily limit", True),
                                                ("how much can I send today", True), ("跨行转账要手续费吗", False),
                                                ("is there a fee for transfers", False)])
def test_limit_questions_are_told_apart_from_fee_questions(text, about_limits):
    assert limits.asks_about_limits(text) is about_limits


def test_the_limits_come_from_the_account_and_the_settings(monkeypatch):
    monkeypatch.setenv("ANXIN_DAILY_TRANSFER_LIMIT", "30000")
    facts = limits.facts("demo-limits")
    assert (facts.limit, facts.left, facts.threshold) == (Decimal("30000"), Decimal("30000"), Decimal("5000"))
