"""V5 Validation: payees and amounts of a transfer, attacked through the running servers (issue 23).

Before the fix a payee matched by substring ("张三三" was paid to 张三: the entity extractor
handed over "张三", and the store took any saved name inside the text), and an amount lost its
sign or its shape on the way ("−100" and "负100" were confirmed as 100.00, "1,000,0" as
10,000.00). Each test asks for such a transfer, says yes to whatever comes back, and checks
that no confirmation was offered, that the reason was said, and that the balance in the bank's
store did not move.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.accounts import store
from tests.e2e.conftest import Chat, said
from tests.e2e.security.test_v2_authentication_step_up import said_text

START = Decimal("12345.67")  # a new demo customer's balance


def ask_and_agree(chat: Chat, messages: list[str]) -> list[str]:
    """Send ``messages``; if a confirmation comes back after one, agree to it as a customer
    would. Returns every text the bot said."""
    said_all: list[str] = []
    for message in messages:
        texts = chat.texts(message)
        said_all += texts
        if said(texts, "utter_confirm_transfer", "zh"):
            said_all += chat.texts("确认")
    return said_all


@pytest.mark.parametrize("messages", [["给张三三转100"], ["转给张三三100元"], ["我要转账", "转给张三三", "100"],
                                      ["我要转账", "张三三", "100"]],
                         ids=["one-message", "one-message-amount-after", "form-turn", "form-name-alone"])
def test_a_longer_name_is_not_paid_to_the_saved_payee_inside_it(servers, messages):
    chat = Chat(servers)
    texts = ask_and_agree(chat, messages)
    assert not said(texts, "utter_confirm_transfer", "zh"), texts
    assert not said(texts, "utter_transfer_done", "zh"), texts
    assert store.account(chat.sender).balance == START
    # the bot asked which payee, naming the saved one it resembled
    assert said_text(texts, "payee_did_you_mean") or said(texts, "utter_unknown_payee", "zh"), texts


@pytest.mark.parametrize("messages", [["我要转账", "张三", "−100"], ["我要转账", "张三", "-100"],
                                      ["我要转账", "张三", "负100"], ["给张三转账−100元"], ["给张三转账负100元"]],
                         ids=["minus-sign", "hyphen", "fu", "one-message-minus-sign", "one-message-fu"])
def test_a_negative_amount_is_refused_with_its_reason(servers, messages):
    chat = Chat(servers)
    texts = ask_and_agree(chat, messages)
    assert not said(texts, "utter_confirm_transfer", "zh"), texts
    assert said_text(texts, "amount_negative"), texts
    assert store.account(chat.sender).balance == START


@pytest.mark.parametrize("messages", [["我要转账", "张三", "1,000,0"], ["给张三转1,000,0元"]],
                         ids=["form-turn", "one-message"])
def test_a_malformed_amount_is_asked_again_never_read_as_ten_thousand(servers, messages):
    chat = Chat(servers)
    texts = ask_and_agree(chat, messages)
    assert not said(texts, "utter_confirm_transfer", "zh"), texts
    assert said_text(texts, "amount_malformed"), texts
    assert said(texts, "utter_ask_amount", "zh"), texts  # and asked again
    assert store.account(chat.sender).balance == START


def test_exact_names_and_good_amounts_still_go_through(servers):
    chat = Chat(servers)
    texts = ask_and_agree(chat, ["我要转账", "转给李四吧", "1,000.50"])
    assert said(texts, "utter_transfer_done", "zh"), texts
    assert store.account(chat.sender).balance == START - Decimal("1000.50")


# -- found by the independent red team (2026-12-06) ---------------------------------------------


@pytest.mark.parametrize("messages", [["我要转账", "张三", "转100还是200"], ["给张三转100还是200"],
                                      ["我要转账", "张三", "100或者200"]],
                         ids=["form-turn", "one-message", "form-turn-huozhe"])
def test_two_amounts_are_asked_about_never_one_picked(servers, messages):
    """Before the fix "转100还是200" was confirmed as 200.00: the entity extractor handed over one
    of the two, and the whole-message reading's "several" was not heeded."""
    chat = Chat(servers)
    texts = ask_and_agree(chat, messages)
    assert not said(texts, "utter_confirm_transfer", "zh"), texts
    assert said_text(texts, "amount_several"), texts
    assert store.account(chat.sender).balance == START


@pytest.mark.parametrize("messages", [["我要转账", "张三", "1万亿"], ["给张三转1万亿"], ["我要转账", "张三", "一万亿"]],
                         ids=["form-turn", "one-message", "chinese-numeral"])
def test_a_trillion_is_refused_as_too_large_never_read_as_ten_thousand(servers, messages):
    """Before the fix "1万亿" was read as 10,000.00 (the 亿 dropped) and offered for confirmation."""
    chat = Chat(servers)
    texts = ask_and_agree(chat, messages)
    assert not said(texts, "utter_confirm_transfer", "zh"), texts
    assert not any("10,000.00" in text for text in texts), texts
    assert said_text(texts, "amount_too_large") and any("1,000,000,000,000.00" in t for t in texts), texts
    assert store.account(chat.sender).balance == START
