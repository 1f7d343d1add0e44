"""A crisis or a fraud in progress, through the real servers, in both languages: the safety
protocol comes first, inside a form too. The messages use signals said outright (the reviewed
lists), so no borderline model decision decides these tests."""

from __future__ import annotations

import requests

from tests.e2e.conftest import said

HOTLINE = "400-161-9995"


def _nothing_else(texts: list[str], language: str) -> None:
    for other in ("utter_risk_warning", "utter_need_risk_assessment", "utter_kb_answer", "utter_market_own_choice",
                  "utter_ask_payee"):
        assert not said(texts, other, language), (other, texts)


def test_a_crisis_in_chinese_gets_the_hotline_and_an_urgent_person(servers, chat):
    replies = chat.say("钱全被骗光了，我真的不想活了")
    texts = [m.get("text", "") for m in replies]
    assert said(texts, "utter_crisis_support", "zh") and HOTLINE in texts[0]
    assert any((m.get("custom") or {}).get("urgent") for m in replies)
    _nothing_else(texts, "zh")
    # A crisis tops the supervisors' queue; its customer is read one handoff at a time (audited).
    supervisor = {"Authorization": f"Bearer {servers.demo_agent_keys['demo-supervisor']}"}
    queue = requests.get(f"{servers.copilot_url}/api/handoffs", timeout=10, headers=supervisor).json()
    assert queue[0]["urgent"] and queue[0]["reason"] == "crisis"
    detail = requests.get(f"{servers.copilot_url}/api/handoffs/{queue[0]['id']}", timeout=10, headers=supervisor)
    assert detail.json()["customer"] == chat.sender


def test_a_crisis_in_english_inside_the_transfer_form_ends_the_form(chat):
    assert said(chat.texts("I need to make a transfer"), "utter_ask_payee", "en")
    texts = chat.texts("I lost all my savings and I don't want to live anymore")
    assert said(texts, "utter_crisis_support", "en") and HOTLINE in texts[0]
    _nothing_else(texts, "en")
    assert not said(chat.texts("hello"), "utter_ask_payee", "en")  # the form is over


def test_a_fraud_in_progress_during_a_transfer_cancels_it_then_says_stop(chat):
    assert said(chat.texts("我要转账"), "utter_ask_payee", "zh")
    texts = chat.texts("对方说是公安局的，让我把钱转到安全账户")
    assert said(texts[:1], "utter_transfer_cancelled", "zh") and said(texts, "utter_fraud_stop", "zh")
    assert "12,345.67" in chat.texts("查余额")[0]  # nothing moved, no transfer pending


def test_a_caller_asking_for_the_sms_code_in_english(chat):
    replies = chat.say("someone on the phone from the bank is asking me for the code from my SMS")
    texts = [m.get("text", "") for m in replies]
    assert said(texts, "utter_fraud_stop", "en")
    buttons = [b["payload"] for m in replies for b in m.get("buttons", [])]
    assert "/card_lost" in buttons and "/request_human" in buttons
