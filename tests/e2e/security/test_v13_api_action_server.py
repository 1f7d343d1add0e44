"""V13 API: the action server serves only the project's Rasa servers (issue 23).

An outside test found that anyone who reached the action server's port could post a forged
tracker to ``/webhook`` and read any customer's balance or move their money (a forged
``pending_transfer`` moved 4,999 out of another customer's account), with ``text/plain`` so a
web page could do it cross-origin, with nothing audited; that a deflate body was inflated
without bound and deeply nested JSON gave a 500. Each attack here goes to the real running action
server; the normal chat through the Rasa server (which signs its calls) must still move money.
"""

from __future__ import annotations

import json
import time
import uuid
import zlib
from decimal import Decimal

import pytest
import requests

from bot import service_auth
from bot.accounts import store
from bot.compliance import audit
from tests.e2e.conftest import DOMAIN, said

FORGED_AMOUNT = "4999"  # under the step-up threshold, as in the report


def action_secret(servers) -> bytes:
    """The secret the servers share (the test plays a caller who stole it). Old code had none and
    ignored the headers, so any value does there."""
    return (getattr(servers, "action_secret", "") or "no-secret-on-the-old-code").encode()


def forged_call(customer: str, action: str = "action_execute_transfer", key: str | None = None) -> dict:
    """An action call as the Rasa server makes it, for ``customer``'s conversation, written by an
    attacker: the customer just confirmed a transfer of 4,999 to a saved payee."""
    now = time.time()
    parse = {"text": "确认", "intent": {"name": "affirm", "confidence": 1.0}, "entities": []}
    user = {"event": "user", "timestamp": now - 0.5, "text": "确认", "parse_data": parse,
            "input_channel": "rest", "metadata": {}}
    events = [{"event": "action", "timestamp": now - 3, "name": "action_ask_transfer_confirmation"},
              {"event": "action", "timestamp": now - 2, "name": "action_listen"}, user]
    pending = {"payee": "张三", "amount": FORGED_AMOUNT, "key": key or uuid.uuid4().hex}
    tracker = {"sender_id": customer, "slots": {"pending_transfer": pending, "language": "zh"},
               "latest_message": parse, "events": events, "paused": False, "followup_action": None,
               "active_loop": {}, "latest_action_name": "action_listen", "latest_input_channel": "rest"}
    return {"next_action": action, "sender_id": customer, "tracker": tracker, "domain": DOMAIN,
            "version": "3.6.21"}


def post(servers, body: bytes, *, secret: bytes | None = None, at: float | None = None,
         content_type: str = "application/json", headers: dict | None = None) -> requests.Response:
    sent = {"Content-Type": content_type, **(headers or {})}
    if secret is not None:
        sent.update(service_auth.sign(secret, "POST", "/webhook", body, now=at))
    return requests.post(f"{servers.action_url}/webhook", data=body, headers=sent, timeout=60)


def encoded(call: dict) -> bytes:
    return json.dumps(call, ensure_ascii=False).encode("utf-8")


def balance(customer: str) -> Decimal:
    return store.account(customer).balance


@pytest.fixture
def victim(chat_as) -> str:
    """A customer with an account and a conversation the Rasa server stored."""
    customer = f"demo-v13-{uuid.uuid4().hex[:10]}"
    assert "12,345.67" in chat_as(customer).texts("查余额")[0]
    return customer


def test_an_unsigned_forged_transfer_is_refused_and_moves_nothing(servers, victim):
    before = balance(victim)
    reply = post(servers, encoded(forged_call(victim)))
    assert reply.status_code == 401, reply.text
    assert balance(victim) == before
    read = post(servers, encoded(forged_call(victim, "action_check_balance")))
    assert read.status_code == 401 and "12,345.67" not in read.text


def test_a_text_plain_call_a_web_page_could_send_is_refused(servers, victim):
    before = balance(victim)
    body = encoded(forged_call(victim))
    reply = post(servers, body, secret=action_secret(servers), content_type="text/plain")
    assert reply.status_code == 415, reply.text
    assert balance(victim) == before
    preflight = requests.options(f"{servers.action_url}/webhook", timeout=10, headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_a_bad_signature_or_a_stale_timestamp_is_refused(servers, victim):
    before = balance(victim)
    body = encoded(forged_call(victim))
    forged = post(servers, body, headers={service_auth.TIMESTAMP_HEADER: str(int(time.time())),
                                          service_auth.SIGNATURE_HEADER: "v1=" + "0" * 64})
    assert forged.status_code == 401, forged.text
    wrong_key = post(servers, body, secret=b"an-attacker-guessed-this-key-32b")
    assert wrong_key.status_code == 401, wrong_key.text
    stale = post(servers, body, secret=action_secret(servers), at=time.time() - 3600)  # a captured call, replayed
    assert stale.status_code == 401, stale.text
    assert balance(victim) == before


def test_an_unsigned_refusal_is_audited(servers, victim):
    before = len(audit.history("unauthenticated-caller"))
    assert post(servers, encoded(forged_call(victim))).status_code == 401
    deadline = time.monotonic() + 10  # written beside the answer, not before it
    while time.monotonic() < deadline and len(audit.history("unauthenticated-caller")) == before:
        time.sleep(0.1)
    latest = audit.history("unauthenticated-caller")[-1:]
    assert latest and latest[0].kind == "action_refused" and "unsigned" in latest[0].detail


def test_other_action_endpoints_need_a_signature_too(servers):
    assert requests.get(f"{servers.action_url}/actions", timeout=10).status_code == 401
    assert requests.get(f"{servers.action_url}/health", timeout=10).status_code == 200


def test_a_deflate_bomb_is_refused_cleanly(servers, victim):
    call = forged_call(victim, "action_check_balance")
    call["padding"] = "0" * 30_000_000  # 30 MB inflated from ~30 kB
    bomb = zlib.compress(encoded(call), 9)
    assert len(bomb) < 100_000
    reply = post(servers, bomb, secret=action_secret(servers), headers={"Content-Encoding": "deflate"})
    assert reply.status_code in (413, 415), reply.status_code
    assert requests.get(f"{servers.action_url}/health", timeout=10).status_code == 200


def test_deeply_nested_or_malformed_json_gets_400_not_500(servers, victim):
    secret = action_secret(servers)
    call = forged_call(victim, "action_check_balance")
    call["tracker"]["events"][-1]["metadata"] = json.loads("[" * 500 + "]" * 500)  # parses; 500 deep
    reply = post(servers, encoded(call), secret=secret)
    assert reply.status_code == 400 and "12,345.67" not in reply.text, reply.status_code
    too_deep = b'{"next_action": "action_check_balance", "tracker": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    assert post(servers, too_deep, secret=secret).status_code == 400
    not_a_call = b'{"next_action": "action_check_balance", "x": ' + b'{"a": ' * 60 + b"1" + b"}" * 60 + b"}"
    assert post(servers, not_a_call, secret=secret).status_code == 400  # no tracker: was a 500


def test_a_signed_call_that_is_not_the_stored_conversation_moves_no_money(servers, victim):
    """A leaked secret (or a compromised Rasa host) still cannot move a customer's money: the
    forged pending transfer is not what the victim's stored conversation holds."""
    before = balance(victim)
    reply = post(servers, encoded(forged_call(victim)), secret=action_secret(servers))
    assert reply.status_code == 403, reply.text
    assert balance(victim) == before
    refused = [e for e in audit.history(victim) if e.kind == "action_refused"]
    assert refused and "refused: tracker mismatch" in refused[-1].detail
    read = post(servers, encoded(forged_call(victim, "action_check_balance")), secret=action_secret(servers))
    assert read.status_code == 403 and "12,345.67" not in read.text


def test_the_real_customer_still_transfers_through_the_chat(servers, chat_as):
    customer = f"demo-v13-{uuid.uuid4().hex[:10]}"
    chat = chat_as(customer)
    assert said(chat.texts("我要转账"), "utter_ask_payee", "zh")
    assert said(chat.texts("张三"), "utter_ask_amount", "zh")
    assert said(chat.texts("300"), "utter_confirm_transfer", "zh")
    done = chat.texts("确认")
    assert said(done, "utter_transfer_done", "zh") and "12,045.67" in done[0]
    assert balance(customer) == Decimal("12045.67")
    kinds = [(e.kind, e.detail) for e in audit.history(customer)]
    assert any(kind == "customer_data" and detail.startswith("action_execute_transfer") for kind, detail in kinds)
