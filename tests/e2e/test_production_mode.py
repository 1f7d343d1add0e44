"""The servers as a bank runs them: demo mode off, rate limits on, SMS gateway configured.

A second, separate set of real servers (own ports and state folder): no demo customer, account
or profile exists or is created; the demo sign-in does not exist; a customer the core systems
opened can sign in, bind WeChat and chat; floods get 429 or a polite WeChat text; what is
stored is masked; one customer's data can be exported and erased.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from bench.security_probe import AUDIT_KEY, CUSTOMER_LIMIT, Bank, probe, production_environment, report
from bench.security_probe import bank_environment as bank_state
from bot.accounts import store
from bot.compliance import audit, risk_profile
from bot.identity import bindings
from bot.servers import Servers
from tests.e2e.conftest import APP_JWT_SECRET, WECHAT, customer_token, said
from tests.fakes.wechat import WeChatCaller

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bank(tmp_path_factory, wechat_api, gateways):
    state = tmp_path_factory.mktemp("production-state")
    running = Servers(rasa_port=5305, action_port=5355, copilot_port=5377, app_jwt_secret=APP_JWT_SECRET,
                      demo_agent_keys={}, environment=production_environment(state, WECHAT, wechat_api.url, gateways))
    running.start(timeout=300)
    yield running, state
    running.stop()


def post(servers: Servers, customer: str, message: str) -> requests.Response:
    return requests.post(f"{servers.rasa_url}/webhooks/rest/webhook", json={"message": message},
                         headers={"Authorization": f"Bearer {customer_token(customer)}"}, timeout=30)


def texts(reply: requests.Response) -> list[str]:
    assert reply.status_code == 200, reply.text
    return [m.get("text", "") for m in reply.json()]


def open_customer(state: Path, phone: str) -> str:
    customer = f"C{uuid.uuid4().int % 10**9:09d}"
    with bank_state(state):
        store.open_account(customer, display_name="Ms Real", balance=Decimal("2500.00"),
                           account_no="6222021111119876", phone=phone,
                           payees=[{"name": "张三", "account_no": "6222020000005678"}])
    return customer


def test_no_demo_sign_in_no_demo_data(bank):
    servers, state = bank
    base = f"{servers.rasa_url}/webhooks/rest/demo"
    assert requests.get(f"{base}/customers", timeout=10).status_code == 404
    assert requests.post(f"{base}/sign-in", json={"customer_id": "demo-c5"}, timeout=10).status_code == 404
    assert said(texts(post(servers, "demo-rich", "查余额")), "utter_no_account", "zh")
    assert said(texts(post(servers, "demo-c5", "有什么理财产品推荐")), "utter_need_risk_assessment", "zh")
    with bank_state(state):
        assert store.account("demo-rich") is None and risk_profile.current("demo-c5") is None
    with sqlite3.connect(state / "bank.db") as connection:
        assert connection.execute("SELECT COUNT(*) FROM bank_accounts").fetchone()[0] == 0


def test_a_customer_of_the_bank_signs_in_and_chats(bank):
    servers, state = bank
    customer = open_customer(state, "13700000001")
    assert any("2,500.00" in t for t in texts(post(servers, customer, "查余额")))


def test_floods_are_refused_per_customer_with_429(bank):
    servers, state = bank
    customer = open_customer(state, "13700000002")
    statuses = [post(servers, customer, "你好").status_code for _ in range(CUSTOMER_LIMIT + 2)]
    assert statuses[:CUSTOMER_LIMIT] == [200] * CUSTOMER_LIMIT and statuses[-1] == 429
    refused = post(servers, customer, "你好")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert post(servers, open_customer(state, "13700000003"), "你好").status_code == 200  # others unaffected


def test_wechat_binding_for_a_real_customer_and_a_polite_flood_answer(bank, gateways):
    servers, state = bank
    customer = open_customer(state, "13700000004")
    caller = WeChatCaller(f"{servers.rasa_url}/webhooks/wechat/webhook", WECHAT["WECHAT_TOKEN"],
                          WECHAT["WECHAT_APP_ID"], WECHAT["WECHAT_ENCODING_AES_KEY"])
    openid = "o" + uuid.uuid4().hex[:27]
    ids = iter(range(10**12, 10**12 + 100))

    def say(text: str) -> str:
        return caller.post(caller.text_xml(openid, text, next(ids))).content

    assert said([say("查余额")], "utter_binding_prompt", "zh")
    say("绑定")
    earlier = gateways.sent("sms", "13700000004")
    say("13700000004")
    assert "绑定成功" in say(gateways.last_code("sms", "13700000004", after=earlier))  # texted in the background
    assert "2,500.00" in say("查余额")  # the fifth message of the minute
    assert "太快" in say("查余额")  # the sixth: a polite text, the dialogue does not run
    with bank_state(state):
        assert bindings.customer_for(openid) == customer
        # the binding, and the one balance the bot read for the customer (the action server audits
        # every read of a customer's data); the flood's sixth message read nothing
        assert sorted(e.kind for e in audit.history(customer)) == ["binding", "customer_data"]


def test_stored_conversations_are_masked_and_one_customer_can_be_exported_and_erased(bank):
    servers, state = bank
    customer = open_customer(state, "13700000005")
    texts(post(servers, customer, "我的身份证号是110101199003071234，帮我查余额"))
    with sqlite3.connect(state / "tracker.db") as connection:
        stored = " ".join(r[0] for r in connection.execute("SELECT data FROM events WHERE sender_id = ?", (customer,)))
    assert "110101199003071234" not in stored and "**************1234" in stored
    environment = {**os.environ, "ANXIN_STATE_DIR": str(state), "ANXIN_DEMO_MODE": "0", "PYTHONPATH": str(ROOT),
                   "ANXIN_AUDIT_KEY": AUDIT_KEY}
    exported = subprocess.run([sys.executable, "-m", "bot.privacy", "export", customer], env=environment,
                              capture_output=True, text=True, check=True, timeout=120)
    document = json.loads(exported.stdout)
    assert customer in document["conversations"] and document["customer_id"] == customer
    erased = subprocess.run([sys.executable, "-m", "bot.privacy", "erase", customer], env=environment,
                            capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(erased.stdout)["conversation_events"] > 0
    with sqlite3.connect(state / "tracker.db") as connection:
        assert connection.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (customer,)).fetchone()[0] == 0
    with bank_state(state):
        erasures = [e for e in audit.history(customer[:2] + "…" + customer[-2:]) if e.kind == "erasure"]
    assert erasures and customer not in json.dumps([e.detail for e in erasures])


def test_the_security_probe_finds_every_attempt_refused_and_no_leak(bank, gateways):
    servers, state = bank
    caller = WeChatCaller(f"{servers.rasa_url}/webhooks/wechat/webhook", WECHAT["WECHAT_TOKEN"],
                          WECHAT["WECHAT_APP_ID"], WECHAT["WECHAT_ENCODING_AES_KEY"])
    attempts = probe(Bank(servers.rasa_url, servers.copilot_url, APP_JWT_SECRET, state,
                          servers.processes["actions"].pid, caller, gateways))
    assert len(attempts) == 14
    assert all(a.refused and not a.leaked for a in attempts), report(attempts)
