"""The replicated topology (``bot.cluster``: PostgreSQL, Redis, two Rasa replicas behind HAProxy),
started once for these tests in a temporary state folder and stopped after them.

One action server serves both replicas and no copilot runs: the tests are about what the Rasa
replicas share, and the machine has two cores. Customers sign in with tokens signed as the bank
app's backend would; WeChat's API is the local fake, which records customer-service messages.
What the dialogue did is read from the tracker store itself (PostgreSQL), not from replies.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from bot.cluster import Cluster
from bot.identity.tokens import CustomerTokens
from tests.fakes.wechat import FakeWeChatApi, WeChatCaller

APP_JWT_SECRET = "cluster-app-backend-key-" + uuid.uuid4().hex
WECHAT = {"WECHAT_TOKEN": "anxin-cluster-token", "WECHAT_APP_ID": "wx00cluster000001",
          "WECHAT_APP_SECRET": "cluster-secret", "WECHAT_ENCODING_AES_KEY": ""}
CUSTOMER_LIMIT = 10  # per minute, low enough that test_shared_rate_limit reaches it cheaply
LOCK_LIFETIME = 15  # seconds a dead replica's conversation lock outlives it (Rasa's default: 60)


@pytest.fixture(autouse=True)
def isolated_state():
    """Override the unit-test fixture: the cluster keeps one state folder for the session."""


@pytest.fixture(scope="session")
def wechat_api():
    fake = FakeWeChatApi(WECHAT["WECHAT_APP_ID"], WECHAT["WECHAT_APP_SECRET"]).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def cluster(wechat_api):
    # Not pytest's tmp_path: its parents are private to root, and PostgreSQL runs as the
    # postgres user, which must reach its folder.
    folder = Path(tempfile.mkdtemp(prefix="anxin-cluster-"))
    folder.chmod(0o755)
    running = Cluster(replicas=2, action_servers=1, copilots=0, state=folder / "state", durable=False,
                      environment={**WECHAT, "WECHAT_API_BASE": wechat_api.url, "ANXIN_DEMO_MODE": "1",
                                   "ANXIN_APP_JWT_SECRET": APP_JWT_SECRET,
                                   "ANXIN_RATE_LIMIT_CUSTOMER": f"{CUSTOMER_LIMIT}/minute",
                                   "ANXIN_RATE_LIMIT_ADDRESS": "5000/minute",
                                   "TICKET_LOCK_LIFETIME": str(LOCK_LIFETIME)},
                      app_jwt_secret=APP_JWT_SECRET)
    try:
        running.start(timeout=400)
        yield running
    finally:
        running.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def tracker_db(cluster):
    engine = create_engine(cluster.database_url("ANXIN_TRACKER_DB_URL").replace("postgresql://",
                                                                                "postgresql+psycopg2://"),
                           pool_pre_ping=True)  # it outlives the PostgreSQL restart too
    yield engine
    engine.dispose()


@pytest.fixture
def bank(cluster, monkeypatch):
    """The account store of the cluster, for tests that open accounts with balances of their own."""
    from bot.accounts import store

    monkeypatch.setenv("ANXIN_BANK_DB_URL", cluster.database_url("ANXIN_BANK_DB_URL"))
    monkeypatch.setenv("ANXIN_DEMO_MODE", "1")
    return store


def events(engine, sender: str) -> list[dict]:
    """The conversation's stored events, oldest first, as Rasa stored them."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"),
                                  {"sender": sender}).all()
    return [json.loads(row[0]) for row in rows]


def turns(stored: list[dict]) -> list[list[dict]]:
    """The events split at each user message: one list per dialogue turn, user event first."""
    split: list[list[dict]] = []
    for event in stored:
        if event["event"] == "user":
            split.append([event])
        elif split:
            split[-1].append(event)
    return split


def assert_whole_turns(stored: list[dict]) -> list[list[dict]]:
    """Every turn is one user message, the bot's answer and one action_listen at its end: two
    turns processed at once would put two user messages, or two listens, in one turn."""
    split = turns(stored)
    for turn in split:
        actions = [e.get("name") for e in turn if e["event"] == "action"]
        assert actions and actions[-1] == "action_listen" and actions.count("action_listen") == 1, \
            f"turn not whole: {[(e['event'], e.get('name') or e.get('text')) for e in turn]}"
        assert any(e["event"] == "bot" for e in turn), "a turn without an answer"
    return split


def probes(stored: list[dict]) -> list[str]:
    """The probe ids the tests put in each message's metadata, in stored order."""
    return [(e.get("metadata") or {}).get("probe") for e in stored if e["event"] == "user"]


class Customer:
    """One signed-in customer of the bank app, posting to whichever base URL a test names."""

    def __init__(self, customer_id: str | None = None) -> None:
        self.id = customer_id or f"demo-cl-{uuid.uuid4().hex[:10]}"
        self.headers = {"Authorization": f"Bearer {CustomerTokens(APP_JWT_SECRET).issue(self.id, 30)}"}

    def post(self, base_url: str, message: str, probe: str | None = None, timeout: float = 60) -> requests.Response:
        body = {"message": message, **({"metadata": {"probe": probe}} if probe else {})}
        return requests.post(f"{base_url}/webhooks/rest/webhook", json=body, headers=self.headers, timeout=timeout)


def wechat_caller(base_url: str) -> WeChatCaller:
    return WeChatCaller(f"{base_url}/webhooks/wechat/webhook", WECHAT["WECHAT_TOKEN"], WECHAT["WECHAT_APP_ID"])


def kill(cluster: Cluster, name: str) -> None:
    """SIGKILL a server, as a crash would: no clean shutdown, its locks stay in Redis."""
    process = cluster.processes.pop(name)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


