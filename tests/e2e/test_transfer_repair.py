"""Changes of mind and questions at the transfer confirmation, through the running servers (issue 25).

Before the fix a change of amount in English was ignored ("make that 300 instead of 250" got
the same 250 confirmation, and "yes" sent 250), and a question asked at the confirmation dropped
the pending transfer silently: the next "确认" got "anything else?" and nothing moved, nothing
was said. Every test here checks the balance in the bank's store after the path, not only what
the bot said: the new amount moves and only it, the transfer moves once, "yes" with nothing
pending moves nothing.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from bot.accounts import store
from tests.e2e.conftest import Chat, said

START = Decimal("12345.67")  # a new demo customer's balance
CONFIRM = {"zh": "确认", "en": "yes"}


@pytest.fixture
def customer(chat_as) -> Chat:
    """A fresh demo customer (12,345.67 CNY; payees 张三, 李四, 王芳, Alice Wang, Bob Li)."""
    return chat_as(f"demo-{uuid.uuid4().hex[:12]}")


def balance(chat: Chat) -> Decimal:
    return store.account(chat.sender).balance


def confirmation(texts: list[str], language: str, payee: str, amount: str) -> bool:
    """True when the bot's last text is the confirmation of exactly this payee and amount."""
    return bool(texts) and said(texts[-1:], "utter_confirm_transfer", language) \
        and payee in texts[-1] and amount in texts[-1]


def ask_to_confirm(chat: Chat, language: str, request: str, payee: str, amount: str) -> None:
    texts = chat.texts(request)
    assert confirmation(texts, language, payee, amount), texts


def confirm_and_check(chat: Chat, language: str, payee: str, amount: str) -> None:
    """Say yes; exactly ``amount`` has moved to ``payee``, once."""
    done = chat.texts(CONFIRM[language])
    assert said(done, "utter_transfer_done", language) and payee in done[-1] and amount in done[-1], done
    assert balance(chat) == START - Decimal(amount.replace(",", ""))
    again = chat.texts(CONFIRM[language])  # a second yes moves nothing more
    assert said(again, "utter_no_pending_transfer", language), again
    assert balance(chat) == START - Decimal(amount.replace(",", ""))


@pytest.mark.parametrize("request_, change", [
    ("transfer 250 to Bob Li", "sorry, make that 300 instead of 250"),
    ("send 250 to Bob Li", "no, 300 not 250"),
    ("transfer 250 to Bob Li", "not 250 but 300"),
], ids=["instead-of", "no-300-not-250", "not-but"])
def test_a_new_amount_in_english_is_confirmed_and_only_it_moves(customer, request_, change):
    ask_to_confirm(customer, "en", request_, "Bob Li", "250.00")
    texts = customer.texts(change)
    assert confirmation(texts, "en", "Bob Li", "300.00") and "250.00" not in texts[-1], texts
    confirm_and_check(customer, "en", "Bob Li", "300.00")


@pytest.mark.parametrize("change", ["不是250，是300", "把250改成300"], ids=["bushi-shi", "ba-gaicheng"])
def test_a_new_amount_in_chinese_is_confirmed_and_only_it_moves(customer, change):
    ask_to_confirm(customer, "zh", "给王芳转250", "王芳", "250.00")
    texts = customer.texts(change)
    assert confirmation(texts, "zh", "王芳", "300.00") and "250.00" not in texts[-1], texts
    confirm_and_check(customer, "zh", "王芳", "300.00")


@pytest.mark.parametrize("language, request_, change, payee", [
    ("zh", "给王芳转250", "金额改一下", "王芳"),
    ("en", "send 250 to Bob Li", "i need to change the amount", "Bob Li"),
], ids=["zh", "en"])
def test_asking_to_change_the_amount_asks_for_it_and_yes_meanwhile_moves_nothing(customer, language, request_,
                                                                                 change, payee):
    ask_to_confirm(customer, language, request_, payee, "250.00")
    texts = customer.texts(change)
    assert said(texts, "utter_ask_amount", language) and not said(texts, "utter_confirm_transfer", language), texts
    texts = customer.texts("300")
    assert confirmation(texts, language, payee, "300.00"), texts
    confirm_and_check(customer, language, payee, "300.00")


@pytest.mark.parametrize("language, request_, change, old, new", [
    ("en", "transfer 250 to Bob Li", "actually send it to Alice, not Bob", "Bob Li", "Alice Wang"),
    ("zh", "给张三转250", "改成给王芳，不是张三", "张三", "王芳"),
], ids=["en", "zh"])
def test_a_new_payee_is_confirmed_and_only_it_is_paid(customer, language, request_, change, old, new):
    ask_to_confirm(customer, language, request_, old, "250.00")
    texts = customer.texts(change)
    assert confirmation(texts, language, new, "250.00") and old not in texts[-1], texts
    confirm_and_check(customer, language, new, "250.00")


def test_payee_then_amount_changed_in_one_conversation(customer):
    ask_to_confirm(customer, "en", "send 250 to Bob Li", "Bob Li", "250.00")
    assert confirmation(customer.texts("actually send it to Alice"), "en", "Alice Wang", "250.00")
    texts = customer.texts("let's make the amount 300")
    assert confirmation(texts, "en", "Alice Wang", "300.00"), texts
    confirm_and_check(customer, "en", "Alice Wang", "300.00")


def test_the_daily_limit_asked_at_the_confirmation_is_answered_and_the_same_transfer_confirmed(customer):
    ask_to_confirm(customer, "zh", "给王芳转800", "王芳", "800.00")
    texts = customer.texts("等下，每天最多能转多少钱？")
    assert said(texts, "utter_transfer_limits", "zh") and "50,000.00" in " ".join(texts), texts
    assert "5,000.00" in " ".join(texts), texts  # the step-up threshold, as configured
    assert confirmation(texts, "zh", "王芳", "800.00"), texts
    assert balance(customer) == START
    confirm_and_check(customer, "zh", "王芳", "800.00")


def test_a_balance_question_at_the_confirmation_keeps_the_transfer_in_english(customer):
    ask_to_confirm(customer, "en", "send 800 to Bob Li", "Bob Li", "800.00")
    texts = customer.texts("hold on, what's my balance right now?")
    assert said(texts, "utter_balance", "en") and "12,345.67" in " ".join(texts), texts
    assert confirmation(texts, "en", "Bob Li", "800.00"), texts
    texts = customer.texts("before I confirm, what's the most I'm allowed to send in a day?")
    assert said(texts, "utter_transfer_limits", "en") and confirmation(texts, "en", "Bob Li", "800.00"), texts
    confirm_and_check(customer, "en", "Bob Li", "800.00")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_yes_with_nothing_pending_says_so_and_moves_nothing(customer, language):
    texts = customer.texts(CONFIRM[language])
    assert said(texts, "utter_no_pending_transfer", language), texts
    request_ = {"zh": "给李四转300", "en": "send 300 to Bob Li"}[language]
    payee = {"zh": "李四", "en": "Bob Li"}[language]
    ask_to_confirm(customer, language, request_, payee, "300.00")
    assert said(customer.texts({"zh": "取消", "en": "cancel"}[language]), "utter_transfer_cancelled", language)
    texts = customer.texts(CONFIRM[language])
    assert said(texts, "utter_no_pending_transfer", language), texts
    assert balance(customer) == START
