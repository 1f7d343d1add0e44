"""Security probe: try to act as somebody else, or to move money twice or silently, against the
real servers run as a bank runs them (demo mode off, rate limits on), and count the attempts
refused and the leaks.

    python -m bench.security_probe

Each attempt says what it tried, whether the servers refused or handled it, and whether
anything leaked (another customer's data, money moved twice or behind the customer's back).
The e2e tests run the same attempts (tests/e2e/test_production_mode.py) and require 0 leaks.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import jwt
import requests

from bench.common import machine_facts
from bot.identity.tokens import CustomerTokens

ROOT = Path(__file__).resolve().parent.parent
CUSTOMER_LIMIT = 8


# The audit key of production-mode servers started here (a bank keeps its own in a vault).
AUDIT_KEY = os.environ.get("ANXIN_AUDIT_KEY") or uuid.uuid4().hex + uuid.uuid4().hex
ACTION_SECRET = os.environ.get("ANXIN_ACTION_SECRET") or uuid.uuid4().hex + uuid.uuid4().hex


@contextlib.contextmanager
def bank_environment(state: Path):
    """This process reads and writes the databases of production-mode servers kept in ``state``."""
    settings = {"ANXIN_STATE_DIR": str(state), "ANXIN_DEMO_MODE": "0", "ANXIN_AUDIT_KEY": AUDIT_KEY}
    before = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def with_bank_state(state: Path, work):
    with bank_environment(state):
        return work()


@dataclass
class Attempt:
    name: str
    refused: bool  # refused (4xx, a prompt instead of data) or handled safely
    leaked: bool  # personal data of another, money moved twice or silently
    detail: str


@dataclass
class Bank:
    """Production-mode servers and what the probe needs to reach them."""

    rasa_url: str
    copilot_url: str
    secret: str
    state: Path
    actions_pid: int
    wechat: object  # tests.fakes.wechat.WeChatCaller
    gateways: object  # tests.fakes.gateways.FakeGateways

    def token(self, customer: str, minutes: int = 10) -> str:
        return CustomerTokens(self.secret).issue(customer, minutes)

    def post(self, message: str, token: str | None = None, sender: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = {"message": message, **({"sender": sender} if sender else {})}
        return requests.post(f"{self.rasa_url}/webhooks/rest/webhook", json=body, headers=headers, timeout=40)

    def with_state(self, work):
        """Run ``work()`` against the servers' databases from this process."""
        return with_bank_state(self.state, work)

    def open_customer(self, balance: str = "2500.00") -> str:
        from bot.accounts import store

        customer = f"C{uuid.uuid4().int % 10**9:09d}"
        phone = f"137{uuid.uuid4().int % 10**8:08d}"
        self.with_state(lambda: store.open_account(
            customer, display_name="Probe", balance=Decimal(balance), account_no="6222021111119876", phone=phone,
            payees=[{"name": "张三", "account_no": "6222020000005678"}]))
        return customer

    def balance(self, customer: str) -> Decimal:
        from bot.accounts import store

        return self.with_state(lambda: store.account(customer).balance)

    def conversation_events(self, conversation: str) -> int:
        from sqlalchemy import create_engine, text

        engine = create_engine(f"sqlite:///{self.state / 'tracker.db'}")
        with engine.connect() as connection:
            return connection.execute(text("SELECT COUNT(*) FROM events WHERE sender_id = :s AND type_name = 'user'"),
                                      {"s": conversation}).scalar_one()


def production_environment(state: Path, wechat: dict, wechat_api_url: str, gateways) -> dict[str, str]:
    """Settings of servers run as the bank runs them (demo mode off, limits on, gateways faked)."""
    return {"ANXIN_DEMO_MODE": "0", "ANXIN_STATE_DIR": str(state), **wechat, "WECHAT_API_BASE": wechat_api_url,
            "ANXIN_AUDIT_KEY": AUDIT_KEY, "ANXIN_ACTION_SECRET": ACTION_SECRET,
            "ANXIN_SMS_GATEWAY_URL": gateways.sms_url, "ANXIN_APP_PUSH_URL": gateways.push_url,
            "ANXIN_RATE_LIMIT_CUSTOMER": f"{CUSTOMER_LIMIT}/minute", "ANXIN_RATE_LIMIT_ADDRESS": "300/minute",
            "ANXIN_RATE_LIMIT_WECHAT": "5/minute",
            "ANXIN_COMPLIANCE_RULES": str(ROOT / "bot" / "compliance" / "rules.yml")}


def _alg_none(customer: str) -> str:
    part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'sub': customer, 'exp': int(time.time()) + 300})}."


def _shows(reply: requests.Response, amount: str) -> bool:
    return reply.status_code == 200 and amount in reply.text


def _token_attempts(bank: Bank) -> list[Attempt]:
    victim = bank.open_customer("7777.77")
    later = int(time.time()) + 300
    tokens = {
        "no token": None,
        "garbage token": "abc.def.ghi",
        "forged token (another key)": jwt.encode({"sub": victim, "exp": later}, "attacker-key-of-enough-length!!!",
                                                 "HS256"),
        "expired token": jwt.encode({"sub": victim, "exp": int(time.time()) - 600}, bank.secret, "HS256"),
        "alg: none token": _alg_none(victim),
        "token without exp": jwt.encode({"sub": victim}, bank.secret, "HS256"),
    }
    found = []
    for name, token in tokens.items():
        reply = bank.post("查余额", token, sender=victim)
        found.append(Attempt(name, reply.status_code == 401, _shows(reply, "7,777.77"), f"HTTP {reply.status_code}"))
    attacker = bank.open_customer()
    reply = bank.post("查余额", bank.token(attacker), sender=victim)
    leaked = _shows(reply, "7,777.77") or bank.conversation_events(victim) > 0
    found.append(Attempt("token for customer A, body sender B", reply.status_code == 403, leaked,
                         f"HTTP {reply.status_code}"))
    return found


def _demo_attempts(bank: Bank) -> list[Attempt]:
    sign_in = requests.post(f"{bank.rasa_url}/webhooks/rest/demo/sign-in", json={"customer_id": "demo-rich"},
                            timeout=10)
    reply = bank.post("查余额", bank.token("demo-rich"))
    return [Attempt("demo sign-in with demo mode off", sign_in.status_code == 404, sign_in.status_code == 200,
                    f"HTTP {sign_in.status_code}"),
            Attempt("demo customer id with demo mode off", "880,000.00" not in reply.text,
                    "880,000.00" in reply.text, f"HTTP {reply.status_code}")]


def _wechat_attempt(bank: Bank) -> Attempt:
    bank.open_customer("6666.66")
    openid = "o" + uuid.uuid4().hex[:27]
    answer = bank.wechat.post(bank.wechat.text_xml(openid, "查余额", int(time.time() * 1000))).content
    return Attempt("unbound WeChat follower asks for a balance", "绑定" in answer,
                   any(amount in answer for amount in ("6,666.66", "2,500.00", "7,777.77")), answer[:30])


def _copilot_attempt(bank: Bank) -> Attempt:
    reply = requests.post(f"{bank.copilot_url}/api/calls/probe-1/utterances", json={"text": "查余额"},
                          headers={"Authorization": "Bearer not-an-agent-key"}, timeout=10)
    return Attempt("wrong agent credentials on the copilot", reply.status_code == 401, reply.status_code == 200,
                   f"HTTP {reply.status_code}")


def _flood_attempt(bank: Bank) -> Attempt:
    customer = bank.open_customer()
    statuses = [bank.post("你好", bank.token(customer)).status_code for _ in range(CUSTOMER_LIMIT + 5)]
    refused = statuses.count(429)
    return Attempt(f"flood: {CUSTOMER_LIMIT + 5} messages in a minute (limit {CUSTOMER_LIMIT})", refused >= 5,
                   statuses[CUSTOMER_LIMIT:].count(200) > 0, f"{refused} x 429")


def _confirm(bank: Bank, customer: str, amount: str) -> str:
    token = bank.token(customer)
    reply = bank.post(f"给张三转账{amount}元", token)
    assert reply.status_code == 200, reply.text
    return token


def _double_transfer_attempt(bank: Bank) -> Attempt:
    customer = bank.open_customer()
    token = _confirm(bank, customer, "100")
    with ThreadPoolExecutor(2) as pool:
        statuses = [r.status_code for r in pool.map(lambda _: bank.post("确认", token), range(2))]
    moved = Decimal("2500.00") - bank.balance(customer)
    return Attempt("the same transfer confirmed twice at once", moved == Decimal("100"), moved > Decimal("100"),
                   f"moved {moved} ({statuses})")


def _late_transfer_attempt(bank: Bank) -> Attempt:
    customer = bank.open_customer()
    token = _confirm(bank, customer, "100")
    group = os.getpgid(bank.actions_pid)
    os.killpg(group, signal.SIGSTOP)  # past the Rasa server's timeout for both of the turn's action calls
    resume = threading.Timer(18.0, os.killpg, (group, signal.SIGCONT))
    resume.start()
    try:
        first = bank.post("确认", token)
    finally:
        resume.join()
        os.killpg(group, signal.SIGCONT)
    time.sleep(2)
    after = bank.post("查余额", token)
    moved = bank.balance(customer) != Decimal("2500.00")
    reported = "之前向" in after.text
    return Attempt("a transfer whose action is delayed past the Rasa timeout", not moved or reported,
                   moved and not reported, f"first reply {first.status_code}, moved={moved}, reported={reported}")


def probe(bank: Bank) -> list[Attempt]:
    return (_token_attempts(bank) + _demo_attempts(bank) + [_wechat_attempt(bank), _copilot_attempt(bank),
                                                            _flood_attempt(bank), _double_transfer_attempt(bank),
                                                            _late_transfer_attempt(bank)])


def report(attempts: list[Attempt]) -> str:
    lines = [f"  {'refused' if a.refused else 'NOT REFUSED':11} {'LEAK' if a.leaked else 'no leak':8} "
             f"{a.name} ({a.detail})" for a in attempts]
    lines.append(f"  attempts {len(attempts)}, refused or handled {sum(a.refused for a in attempts)}, "
                 f"leaks {sum(a.leaked for a in attempts)}")
    return "\n".join(lines)


def main() -> None:
    from bot.servers import Servers
    from tests.fakes.gateways import FakeGateways
    from tests.fakes.wechat import FakeWeChatApi, WeChatCaller, new_aes_key

    wechat = {"WECHAT_TOKEN": "probe-token", "WECHAT_APP_ID": "wx0123456789abcdef", "WECHAT_APP_SECRET": "probe",
              "WECHAT_ENCODING_AES_KEY": new_aes_key()}

    print(f"Security probe — {machine_facts()}")
    state = Path(tempfile.mkdtemp(prefix="anxin-security-"))
    gateways = FakeGateways().start()
    api = FakeWeChatApi(wechat["WECHAT_APP_ID"], wechat["WECHAT_APP_SECRET"]).start()
    secret = "probe-app-backend-key-" + uuid.uuid4().hex
    servers = Servers(rasa_port=5205, action_port=5255, copilot_port=5277, app_jwt_secret=secret,
                      environment=production_environment(state, wechat, api.url, gateways))
    try:
        with servers:
            caller = WeChatCaller(f"{servers.rasa_url}/webhooks/wechat/webhook", wechat["WECHAT_TOKEN"],
                                  wechat["WECHAT_APP_ID"], wechat["WECHAT_ENCODING_AES_KEY"])
            bank = Bank(servers.rasa_url, servers.copilot_url, secret, state, servers.processes["actions"].pid,
                        caller, gateways)
            attempts = probe(bank)
    finally:
        gateways.stop()
        api.stop()
    print(report(attempts))
    if any(a.leaked or not a.refused for a in attempts):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
