"""Copilot features in-process: a failing feature reports its own error beside the others, a
suggested reply needs the call's customer, the turn names the agent it was analysed for, and
the draft check."""

from __future__ import annotations

import asyncio
import socket

from bot.copilot import analysis, store
from bot.copilot.rasa_client import RasaClient


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens here once the probe closes


def test_a_rasa_server_that_is_down_fails_only_its_own_features():
    rasa = RasaClient(f"http://127.0.0.1:{closed_port()}", "token")
    result = asyncio.run(analysis.analyse(rasa, "call-down", "我的基金跌了好多，好担心怎么办", "demo-c3", "agent-1"))
    assert "intent unavailable" in result["intent"]["error"]
    assert "suggested_reply unavailable" in result["suggested_reply"]["error"]
    assert result["emotion"]["label"] == "anxious" and result["emotion"]["trend"][-1]["emotion"] == "anxious"
    assert result["knowledge"]["snippets"][0]["entry_id"] == "edu-market-fall"
    assert [a["rule"] for a in result["alerts"]] == ["emotional"]
    assert store.trend("call-down")[-1]["turn_id"] == result["turn_id"]
    assert store.call_records("call-down")["turns"][-1]["agent"] == "agent-1"


class RecordingRasa(RasaClient):
    """A Rasa server that answers, recording what the copilot asked it."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:1", "server-token")
        self.replies: list[tuple] = []

    async def parse(self, text: str) -> dict:
        return {"name": "greet", "confidence": 0.99, "ranking": []}

    async def bot_reply(self, call_id: str, customer_id: str, text: str) -> list[dict]:
        self.replies.append((call_id, customer_id, text))
        return [{"recipient_id": f"copilot:{call_id}", "text": "您好，请问有什么可以帮您？"}]


def test_the_suggested_reply_needs_the_calls_customer_and_is_asked_for_that_customer():
    rasa = RecordingRasa()
    without = asyncio.run(analysis.analyse(rasa, "call-anon", "你好", None, "agent-1"))
    assert "customer" in without["suggested_reply"]["error"] and rasa.replies == []
    assert without["intent"]["name"] == "greet" and without["emotion"]["label"] == "calm"
    with_customer = asyncio.run(analysis.analyse(rasa, "call-anon", "你好", "demo-c3", "agent-1"))
    assert rasa.replies == [("call-anon", "demo-c3", "你好")]
    assert with_customer["suggested_reply"]["compliant"] and with_customer["suggested_reply"]["text"]


def test_the_shadow_reply_goes_to_the_copilot_channel_with_the_server_token(monkeypatch):
    sent = {}

    class Reply:
        status_code = 200

        def json(self):
            return [{"text": "ok"}]

    def post(url, json=None, headers=None, timeout=None, **others):
        sent.update(url=url, json=json, headers=headers, others=others)
        return Reply()

    monkeypatch.setattr("bot.copilot.rasa_client.requests.post", post)
    rasa = RasaClient("http://rasa:5005/", "server-token")
    assert asyncio.run(rasa.bot_reply("call-9", "demo-c5", "hello")) == [{"text": "ok"}]
    assert sent["url"] == "http://rasa:5005/webhooks/copilot/webhook" and sent["others"] == {}
    assert sent["headers"] == {"Authorization": "Bearer server-token"}
    assert sent["json"] == {"call_id": "call-9", "customer_id": "demo-c5", "message": "hello"}


def test_errors_of_the_rasa_server_shown_to_agents_never_carry_its_token(monkeypatch, caplog):
    """requests' own errors name the whole URL (a ?token= in it, had one been sent): the copilot's
    errors and logs keep the path and the status, nothing more; the token goes in the header."""
    token = "s3cret-rasa-token-" + "x" * 20
    down = RasaClient(f"http://127.0.0.1:{closed_port()}", token)
    result = asyncio.run(analysis.analyse(down, "call-leak", "我想买基金", "demo-c3", "agent-1"))

    class Refused:
        status_code = 401
        url = f"http://rasa/model/parse?token={token}"

    sent = {}

    def post(url, json=None, headers=None, timeout=None, **others):
        sent.update(url=url, headers=headers, others=others)
        return Refused()

    monkeypatch.setattr("bot.copilot.rasa_client.requests.post", post)
    refused = asyncio.run(analysis.analyse(RasaClient("http://rasa", token), "call-leak-2", "你好", None, "agent-1"))
    shown = str(result) + str(refused) + caplog.text
    assert "intent unavailable" in result["intent"]["error"] and "HTTP 401" in refused["intent"]["error"]
    assert token not in shown and "token=" not in shown
    assert sent["headers"] == {"Authorization": f"Bearer {token}"} and sent["others"] == {}  # the header only
    assert token not in sent["url"]


def test_turns_stored_by_an_older_version_get_the_agent_column(tmp_path, monkeypatch):
    import sqlite3

    url_file = tmp_path / "old.db"
    with sqlite3.connect(url_file) as old:
        old.execute("CREATE TABLE copilot_turns (id INTEGER PRIMARY KEY AUTOINCREMENT, call_id VARCHAR(128) "
                    "NOT NULL, at DATETIME NOT NULL, text TEXT NOT NULL, intent VARCHAR(64), emotion VARCHAR(16), "
                    "anxiety FLOAT)")
    monkeypatch.setenv("ANXIN_AUDIT_DB_URL", f"sqlite:///{url_file}")
    turn = store.add_turn("call-old", "你好", "greet", "calm", 0.1, "agent-2")
    assert store.call_records("call-old")["turns"] == [{"turn_id": turn, "agent": "agent-2", "intent": "greet"}]


def test_draft_check():
    assert analysis.check_draft("您好，请问还有什么可以帮您？", None) == {"ok": True, "findings": []}
    found = analysis.check_draft("年化收益率 4.5%，稳赚不赔", None)
    assert {f["rule"] for f in found["findings"]} >= {"guarantees", "stated_yield"}
    warned = analysis.check_draft("理财非存款、产品有风险、投资须谨慎。安心成长股票基金是一只股票基金。", "demo-c5")
    assert warned["ok"], warned
    unsuitable = analysis.check_draft("理财非存款、产品有风险、投资须谨慎。安心成长股票基金是一只股票基金。", "demo-c1")
    assert [f["rule"] for f in unsuitable["findings"]] == ["unsuitable_product"]


def test_distress_trend_counts_only_the_negative_turns_in_a_row():
    trend = [{"emotion": e} for e in ("anxious", "calm", "anxious", "angry")]
    alerts = analysis._alerts("你们到底管不管", None, "complaint", {"label": "angry"}, trend, None)
    distress = [a for a in alerts if a["rule"] == "distress_trend"]
    assert len(distress) == 1 and distress[0]["message"].startswith("客户连续 2 句")
    calm_last = [{"emotion": e} for e in ("angry", "angry", "calm")]
    assert not [a for a in analysis._alerts("好的", None, "affirm", {"label": "calm"}, calm_last, None)
                if a["rule"] == "distress_trend"]
