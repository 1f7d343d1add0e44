"""V2 Authentication: the step-up code, attacked through the running servers (issue 23).

The one-time code pushed to the bank app is what stands between a stolen session and the
customer's money. Each test here is an attack that worked before the fix:

- a code verified by customer A moved customer B's money (``otp.passed`` looked at the transfer
  key only): A verifies a code for A's own transfer, then A's key is replayed in B's
  conversation;
- a code sent for one transfer confirmed another (a different amount or payee under the same key);
- a used verification was good again for five minutes;
- the threshold applied per transfer, so 5,000 + 5,000 + 2,000 moved with no code at all;
- the code typed in the chat was kept in clear in ``rasa.log`` and in the tracker store.

How a key is replayed into another conversation: the outside tester posted crafted trackers to
the action server. Here the running Rasa server's own HTTP API plants the pending transfer in the
victim's stored conversation and runs the transfer action there, so the code check itself is
what must refuse (whatever else guards the action server). Every test checks the balance in the
bank's store, not only what the bot said.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import update

from bot import db, settings
from bot.accounts import store
from bot.identity import delivery, otp
from tests.e2e.conftest import Chat, said

START = Decimal("12345.67")  # a new demo customer's balance
TEXTS = yaml.safe_load(Path(delivery.__file__).with_name("texts.yml").read_text(encoding="utf-8"))


def said_text(texts: list[str], name: str, language: str = "zh") -> bool:
    """True when one of the bot's texts is ``name`` of bot/identity/texts.yml."""
    pattern = re.sub(r"\\\{\w+\\\}", ".+?", re.escape(TEXTS[name][language]))
    return any(re.fullmatch(pattern, text, re.S) for text in texts)


def api(servers, method: str, path: str, **kwargs) -> requests.Response:
    """Rasa's HTTP API with the server's token (the header; a server that only reads
    ``?token=`` is asked that way)."""
    url = f"{servers.rasa_url}{path}"
    reply = requests.request(method, url, headers={"Authorization": f"Bearer {servers.token}"}, timeout=30, **kwargs)
    if reply.status_code == 401:
        reply = requests.request(method, url, params={"token": servers.token}, timeout=30, **kwargs)
    assert reply.status_code == 200, reply.text
    return reply


def pending_of(servers, sender: str) -> dict:
    return api(servers, "GET", f"/conversations/{sender}/tracker").json()["slots"].get("pending_transfer") or {}


def replay(servers, sender: str, pending: dict) -> list[str]:
    """Plant ``pending`` as ``sender``'s pending transfer and run the transfer action there."""
    api(servers, "POST", f"/conversations/{sender}/tracker/events",
        json=[{"event": "slot", "name": "pending_transfer", "value": pending}])
    reply = api(servers, "POST", f"/conversations/{sender}/execute", json={"name": "action_execute_transfer"})
    return [m.get("text") or "" for m in reply.json().get("messages", [])]


def customer(servers, *, balance: str = "50000.00", daily_limit: str | None = None) -> Chat:
    """A new customer with an account of our making (the bank's core systems open accounts)."""
    chat = Chat(servers)
    store.open_account(chat.sender, display_name="E2E", balance=Decimal(balance), account_no="6222020000001111",
                       payees=[{"name": "张三", "account_no": "6222020000005678"},
                               {"name": "李四", "account_no": "6222020000009012"}],
                       daily_limit=None if daily_limit is None else Decimal(daily_limit))
    return chat


def confirm_up_to_the_code(chat: Chat, gateways, request: str) -> str:
    """Ask for a transfer, confirm it, and return the code pushed to the app for it."""
    texts = chat.texts(request)
    assert said(texts, "utter_confirm_transfer", "zh"), texts
    texts = chat.texts("确认")
    assert said(texts, "utter_ask_step_up_code", "zh"), texts
    code = gateways.last_code("app_push", chat.sender)
    assert code is not None
    return code


def set_daily_limit(customer_id: str, limit: str) -> None:
    with db.sessions(db.BANK)() as session:
        session.execute(update(store.Account).where(store.Account.customer_id == customer_id)
                        .values(daily_limit_fen=store.to_fen(Decimal(limit))))
        session.commit()


def a_verified_code_that_moved_nothing(servers, gateways) -> tuple[Chat, dict]:
    """Customer A confirms 6,000 to 张三 with the right code, but A's daily limit refuses the
    transfer: A now holds a verified code whose transfer key never moved money."""
    attacker = customer(servers, daily_limit="1000.00")
    code = confirm_up_to_the_code(attacker, gateways, "给张三转账6000元")
    pending = pending_of(servers, attacker.sender)
    texts = attacker.texts(code)
    assert said(texts, "utter_transfer_over_limit", "zh"), texts
    assert store.account(attacker.sender).balance == Decimal("50000.00")
    return attacker, pending


def test_a_code_verified_by_one_customer_moves_nothing_for_another(servers, gateways):
    _, verified_by_a = a_verified_code_that_moved_nothing(servers, gateways)
    victim = Chat(servers)
    assert "12,345.67" in victim.texts("查余额")[0]
    texts = replay(servers, victim.sender, {**verified_by_a, "amount": "10000.00"})
    assert store.account(victim.sender).balance == START, texts
    assert not said(texts, "utter_transfer_done", "zh")
    # the same key, amount and payee as A verified: still A's code, not B's
    texts = replay(servers, victim.sender, verified_by_a)
    assert store.account(victim.sender).balance == START, texts


@pytest.mark.parametrize("earlier, asked, planted", [
    (None, "给张三转账6000元", {"amount": "9000.00"}),
    (None, "给张三转账6000元", {"payee": "李四"}),
    # after 5,000 today, 100 passes the threshold: its code must not confirm 9,000
    ("5000", "给张三转账100元", {"amount": "9000.00"}),
], ids=["amount", "payee", "100-for-9000"])
def test_a_code_sent_for_one_transfer_confirms_no_other_amount_or_payee(servers, gateways, earlier, asked, planted):
    chat = customer(servers)
    if earlier:
        assert said(chat.texts(f"给张三转账{earlier}元"), "utter_confirm_transfer", "zh")
        assert said(chat.texts("确认"), "utter_transfer_done", "zh")
    before = store.account(chat.sender).balance
    code = confirm_up_to_the_code(chat, gateways, asked)
    # the customer approved the pushed message for this payee and amount; the pending transfer
    # is swapped before the code is typed
    pending = pending_of(servers, chat.sender)
    api(servers, "POST", f"/conversations/{chat.sender}/tracker/events",
        json=[{"event": "slot", "name": "pending_transfer", "value": {**pending, **planted}}])
    texts = chat.texts(code)
    assert store.account(chat.sender).balance == before, texts
    assert not said(texts, "utter_transfer_done", "zh")
    assert said_text(texts, "step_up_not_for_this"), texts


def test_a_used_code_and_a_spent_verification_are_refused(servers, gateways):
    chat = customer(servers, daily_limit="7000.00")
    assert said(chat.texts("给张三转账2000元"), "utter_confirm_transfer", "zh")
    assert said(chat.texts("确认"), "utter_transfer_done", "zh")
    code = confirm_up_to_the_code(chat, gateways, "给张三转账6000元")
    pending = pending_of(servers, chat.sender)
    texts = chat.texts(code)  # right code, but 2,000 + 6,000 is over the 7,000 limit
    assert said(texts, "utter_transfer_over_limit", "zh"), texts
    assert store.account(chat.sender).balance == Decimal("48000.00")
    # the used code, typed for the next transfer, is no code
    fresh = confirm_up_to_the_code(chat, gateways, "给张三转账6000元")
    if fresh != code:
        texts = chat.texts(code)
        assert not said(texts, "utter_transfer_done", "zh"), texts
    chat.texts("取消")
    assert store.account(chat.sender).balance == Decimal("48000.00")
    set_daily_limit(chat.sender, "50000.00")  # the customer raises the limit in the app
    # the verification of the first code was spent: replaying its very transfer needs a new code
    texts = replay(servers, chat.sender, pending)
    assert store.account(chat.sender).balance == Decimal("48000.00"), texts
    assert not said(texts, "utter_transfer_done", "zh")


def test_an_expired_code_is_refused_and_says_so(servers, gateways):
    chat = Chat(servers)
    code = confirm_up_to_the_code(chat, gateways, "给张三转账6000元")
    with db.sessions(db.BANK)() as session:  # five minutes pass
        session.execute(update(otp.OneTimeCode)
                        .where(otp.OneTimeCode.customer_id == chat.sender, otp.OneTimeCode.used_at.is_(None))
                        .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        session.commit()
    texts = chat.texts(code)
    assert store.account(chat.sender).balance == START, texts
    assert said_text(texts, "step_up_expired"), texts


def test_the_running_total_asks_for_a_code_before_it_passes_the_threshold(servers, gateways):
    assert settings.step_up_threshold() == Decimal("5000")
    chat = Chat(servers)
    assert said(chat.texts("给张三转账5000元"), "utter_confirm_transfer", "zh")
    assert said(chat.texts("确认"), "utter_transfer_done", "zh")  # 5,000 today: at the threshold, no code
    assert said(chat.texts("给李四转账5000元"), "utter_confirm_transfer", "zh")
    texts = chat.texts("确认")
    assert said(texts, "utter_ask_step_up_code", "zh"), texts  # 10,000 today: a code first
    assert said_text(texts, "step_up_running_total"), texts
    assert store.account(chat.sender).balance == START - 5000
    texts = chat.texts(gateways.last_code("app_push", chat.sender))
    assert said(texts, "utter_transfer_done", "zh"), texts
    assert said(chat.texts("给王芳转账2000元"), "utter_confirm_transfer", "zh")
    texts = chat.texts("确认")
    assert said(texts, "utter_ask_step_up_code", "zh"), texts  # 12,000 today: a code again
    assert store.account(chat.sender).balance == START - 10000


def _without_times(text: str) -> str:
    """A log line or stored event without its timestamps, whose digits could match by chance."""
    text = re.sub(r'"(time|timestamp)": ?("[^"]*"|[\d.e+-]+)', "", text)
    return re.sub(r"\d{4}-\d\d-\d\d[T ][\d:.,+]+", "", text)


def test_the_typed_code_is_kept_in_no_log_and_no_stored_conversation(servers, gateways):
    chat = Chat(servers)
    code = confirm_up_to_the_code(chat, gateways, "给张三转账6000元")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert said(chat.texts(wrong), "utter_step_up_wrong_code", "zh")
    texts = chat.texts(code)
    assert said(texts, "utter_transfer_done", "zh"), texts
    assert store.account(chat.sender).balance == START - 6000
    typed = re.compile(rf"(?<!\d)({code}|{wrong})(?!\d)")
    logs = [line for log in Path(servers.logs).glob("*.log")
            for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if chat.sender in line]
    assert logs, "the turns of this conversation are logged"
    assert [line for line in logs if typed.search(_without_times(line))] == []
    url = settings.tracker_db_url()
    assert url.startswith("sqlite:///")
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        rows = [data for (data,) in connection.execute("SELECT data FROM events WHERE sender_id = ?", (chat.sender,))]
    assert any('"user"' in row for row in rows)
    assert [row for row in rows if typed.search(_without_times(row))] == []
    # and the stored conversation still shows that a code was typed, masked
    assert any(otp.TYPED_CODE_MASK in row for row in rows)


# -- found by the independent red team (2026-12-06) ---------------------------------------------


def _kept_anywhere(servers, sender: str, pattern: re.Pattern) -> list[str]:
    """Log lines and stored events of ``sender``'s conversation that match ``pattern``."""
    logs = [line for log in Path(servers.logs).glob("*.log")
            for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if sender in line]
    url = settings.tracker_db_url()
    assert url.startswith("sqlite:///")
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        rows = [data for (data,) in connection.execute("SELECT data FROM events WHERE sender_id = ?", (sender,))]
    return [text for text in logs + rows if pattern.search(_without_times(text))]


@pytest.mark.parametrize("typed", ["/{code}", "//{code}", '/inform{{"amount": "{code}"}}'],
                         ids=["slash", "two-slashes", "inform-payload"])
def test_a_slash_prefixed_code_is_masked_like_any_other(servers, gateways, typed):
    """Before the fix "/<code>" went round the door (it skipped "/" messages) and was still
    taken as the code: the transfer went through and the code sat in clear in the tracker store
    (text, an amount entity, the slot) and in rasa.log. Now the leading "/" of a customer's
    message is no intent syntax (bot/channels/inbound.py) and the door masks any message's
    digits: the transfer proceeds, with the code masked everywhere."""
    chat = Chat(servers)
    code = confirm_up_to_the_code(chat, gateways, "给张三转账6000元")
    texts = chat.texts(typed.format(code=code))
    assert said(texts, "utter_transfer_done", "zh") or said(texts, "utter_transfer_done", "en"), texts  # Latin text: en
    assert store.account(chat.sender).balance == START - 6000
    assert _kept_anywhere(servers, chat.sender, re.compile(rf"(?<!\d){code}(?!\d)")) == []


def test_a_confirmation_without_digits_is_no_try_of_the_code(servers, gateways):
    """Before the fix a message with no digits at the code question ("确认" once more, the
    confirmation button clicked again) was checked as an (empty) code: the customer read
    "2 tries left" without having typed a code."""
    chat = Chat(servers)
    texts = chat.texts("给张三转账6000元")
    assert said(texts, "utter_confirm_transfer", "zh"), texts
    texts = chat.texts("确认")
    assert said(texts, "utter_ask_step_up_code", "zh"), texts
    purpose = otp.step_up_purpose(chat.sender, pending_of(servers, chat.sender))
    for again in ("确认", "/affirm", "好的"):
        texts = chat.texts(again)
        assert not said(texts, "utter_step_up_wrong_code", "zh"), (again, texts)
        assert otp.status(purpose, chat.sender).status == "pending", again  # no try made
    code = gateways.last_code("app_push", chat.sender)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    texts = chat.texts(wrong)
    assert said(texts, "utter_step_up_wrong_code", "zh") and any("2" in t for t in texts), texts
    assert otp.status(purpose, chat.sender).attempts_left == 2
    assert said(chat.texts(code), "utter_transfer_done", "zh")


@pytest.mark.parametrize("typed", ['/inform{"amount": "1"}', '/transfer_money{"payee": "张三", "amount": "100"}',
                                   '/choose_option{"option": "1", "amount": "9000"}', '/affirm{"payee": "李四"}',
                                   "/made_up_intent"])
def test_a_customer_cannot_give_an_intent_or_entities_directly(servers, typed):
    """Rasa reads a message starting with "/" as an intent with its entities, skipping the NLU.
    Before the fix a customer's '/inform{"amount": "1"}' was stored as that intent with that
    entity (confidence 1, no extractor). Only what the chat's buttons send passes as such."""
    chat = Chat(servers)
    chat.texts("我要转账")
    chat.texts(typed)
    events = api(servers, "GET", f"/conversations/{chat.sender}/tracker").json()["events"]
    user = [e for e in events if e["event"] == "user"][-1]
    assert not user["text"].startswith("/"), user["text"]
    assert all(entity.get("extractor") for entity in user["parse_data"].get("entities", [])), user["parse_data"]
    assert user["parse_data"]["intent"].get("name") != "made_up_intent"
