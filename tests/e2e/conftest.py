"""End-to-end fixtures: the real Rasa server and action server, started once per session.

They bind 127.0.0.1 on ports of their own (so a `make run` in another terminal does not
collide) and keep their SQLite files in a temporary state folder.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
import requests
import yaml

from bot.identity.tokens import CustomerTokens
from bot.servers import Servers
from tests.fakes.gateways import FakeGateways
from tests.fakes.wechat import FakeWeChatApi, WeChatCaller, new_aes_key

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def isolated_state():
    """Override the unit-test fixture: the servers keep one state folder for the session."""


# The bank app backend's key: the tests sign customer tokens with it, as the app backend does.
APP_JWT_SECRET = "e2e-app-backend-key-" + uuid.uuid4().hex
WECHAT = {"WECHAT_TOKEN": "anxin-e2e-token", "WECHAT_APP_ID": "wx0123456789abcdef",
          "WECHAT_APP_SECRET": "e2e-secret", "WECHAT_ENCODING_AES_KEY": new_aes_key()}


@pytest.fixture(scope="session")
def wechat_api():
    """WeChat's API servers, faked on 127.0.0.1; the connector under test is configured to use them."""
    fake = FakeWeChatApi(WECHAT["WECHAT_APP_ID"], WECHAT["WECHAT_APP_SECRET"]).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def gateways():
    """The bank's SMS and app-push gateways, faked on 127.0.0.1: tests read the codes sent."""
    fake = FakeGateways().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def servers(tmp_path_factory, wechat_api, gateways):
    state = tmp_path_factory.mktemp("e2e-state")
    os.environ.update(WECHAT, WECHAT_API_BASE=wechat_api.url, ANXIN_APP_JWT_SECRET=APP_JWT_SECRET,
                      ANXIN_DEMO_MODE="1", ANXIN_SMS_GATEWAY_URL=gateways.sms_url,
                      ANXIN_APP_PUSH_URL=gateways.push_url,
                      # /metrics needs this token (Authorization: Bearer); test_observability scrapes with it
                      ANXIN_METRICS_TOKEN="e2e-metrics-" + uuid.uuid4().hex,
                      # Everything comes from 127.0.0.1 here, and the compliance simulation sends
                      # thousands of messages: no per-address limit on these servers
                      # (tests/e2e/test_production_mode.py runs servers with the limits on).
                      ANXIN_RATE_LIMIT_ADDRESS="off")
    os.environ["ANXIN_STATE_DIR"] = str(state)
    rules = state / "rules.yml"  # a copy the tests may edit while the servers run
    rules.write_text((ROOT / "bot" / "compliance" / "rules.yml").read_text(encoding="utf-8"), encoding="utf-8")
    os.environ["ANXIN_COMPLIANCE_RULES"] = str(rules)
    running = Servers(rasa_port=int(os.environ.get("ANXIN_E2E_RASA_PORT", 5105)),
                      action_port=int(os.environ.get("ANXIN_E2E_ACTION_PORT", 5155)),
                      copilot_port=int(os.environ.get("ANXIN_E2E_COPILOT_PORT", 5177)))
    running.start(timeout=240)
    yield running
    running.stop()


def customer_token(customer_id: str, minutes: int = 10) -> str:
    """A token as the bank app's backend would sign it for ``customer_id``."""
    return CustomerTokens(APP_JWT_SECRET).issue(customer_id, minutes)


class Chat:
    """One signed-in customer's conversation over the app's REST channel."""

    def __init__(self, servers: Servers, sender: str | None = None) -> None:
        self.url = f"{servers.rasa_url}/webhooks/rest/webhook"
        self.sender = sender or f"e2e-{uuid.uuid4().hex[:10]}"
        self.headers = {"Authorization": f"Bearer {customer_token(self.sender)}"}

    def post(self, **payload) -> requests.Response:
        return requests.post(self.url, json=payload, headers=self.headers, timeout=30)

    def say(self, message: str) -> list[dict]:
        reply = self.post(message=message)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def texts(self, message: str) -> list[str]:
        return [m.get("text", "") for m in self.say(message)]


@pytest.fixture
def wechat(servers):
    """WeChat's side of the official account, posting callbacks to the running connector."""
    return WeChatCaller(f"{servers.rasa_url}/webhooks/wechat/webhook", WECHAT["WECHAT_TOKEN"],
                        WECHAT["WECHAT_APP_ID"], WECHAT["WECHAT_ENCODING_AES_KEY"])


@pytest.fixture
def chat(servers):
    return Chat(servers)


@pytest.fixture
def chat_as(servers):
    return lambda sender: Chat(servers, sender)


def response_pattern(name: str, language: str) -> re.Pattern:
    """A regex for the response ``name`` in ``language``, its {placeholders} as wildcards."""
    variations = [v for v in DOMAIN["responses"][name] if bool(v.get("condition")) == (language == "en")]
    parts = [re.sub(r"\\\{\w+\\\}", ".+?", re.escape(v["text"])) for v in variations]
    return re.compile("^(?:" + "|".join(parts) + ")$", re.S)


def said(texts: list[str], name: str, language: str) -> bool:
    """True when one of the bot's texts is the response ``name`` in ``language``."""
    pattern = response_pattern(name, language)
    return any(pattern.match(text) for text in texts)
