"""A customer chats with the running bot over REST, in Chinese and in English."""

import re

import requests

from tests.e2e.conftest import said


def test_greets_in_the_language_the_customer_writes(chat):
    assert said(chat.texts("你好"), "utter_greet", "zh")
    assert said(chat.texts("hello there"), "utter_greet", "en")
    assert said(chat.texts("谢谢"), "utter_you_are_welcome", "zh")  # switches back at once


def test_balance_in_chinese_and_english(chat_as):
    texts = chat_as("demo-rich").texts("查一下余额")
    assert said(texts, "utter_balance", "zh") and "880,000.00" in texts[0]
    texts = chat_as("demo-rich").texts("what's my balance")
    assert said(texts, "utter_balance", "en") and "880,000.00" in texts[0]


def test_transfer_asks_confirms_and_moves_money_in_chinese(chat):
    assert said(chat.texts("我要转账"), "utter_ask_payee", "zh")
    assert said(chat.texts("李四"), "utter_ask_amount", "zh")
    reply = chat.say("500")
    assert said([m["text"] for m in reply], "utter_confirm_transfer", "zh")
    assert [b["payload"] for b in reply[-1]["buttons"]] == ["/affirm", "/deny"]
    done = chat.texts("确认")
    assert said(done, "utter_transfer_done", "zh") and "11,845.67" in done[0]
    balance = chat.texts("余额多少")
    assert "11,845.67" in balance[0]


def test_transfer_in_one_english_message_can_be_cancelled(chat):
    assert said(chat.texts("send 250 to Alice Wang"), "utter_confirm_transfer", "en")
    assert said(chat.texts("no"), "utter_transfer_cancelled", "en")
    assert "12,345.67" in chat.texts("check my balance")[0]


def test_unknown_payee_gets_a_clear_answer(chat):
    chat.texts("我要转账")
    texts = chat.texts("王五")
    assert said(texts, "utter_unknown_payee", "zh") and "王五" in texts[0] and "张三" in texts[0]


def test_insufficient_funds_is_explained_and_nothing_moves(chat_as):
    chat = chat_as("demo-low-balance")
    chat.texts("transfer money")
    chat.texts("Bob Li")
    texts = chat.texts("100")
    assert said(texts, "utter_insufficient_funds", "en") and "50.00" in texts[0]
    assert said(chat.texts("cancel"), "utter_transfer_cancelled", "en")
    assert re.search(r"\b50\.00\b", chat.texts("my balance?")[0])


def test_out_of_scope_offers_a_person(chat):
    reply = chat.say("帮我订一张机票")
    assert said([m["text"] for m in reply], "utter_out_of_scope", "zh")
    assert "/request_human" in [b["payload"] for b in reply[0]["buttons"]]


def test_web_chat_page_is_served(servers):
    page = requests.get(f"{servers.rasa_url}/webhooks/rest/chat", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/webhooks/rest/webhook" in page.text and "安心" in page.text
