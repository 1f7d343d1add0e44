"""The agent copilot's API through the real copilot, Rasa and action servers: each agent's own
key, roles, the suggested reply as a side-effect-free shadow turn for the call's customer, and
rate limits. An agent sees a customer only while handling them (``handle``: the bot's handoff
for that customer, claimed); tests/e2e/security/test_v4_access_control_agents.py attacks that."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import requests

from bot import handoff
from bot.accounts import store as accounts
from bot.compliance import audit, catalogue, rulebook
from bot.copilot import store
from bot.servers import Servers
from tests.e2e.conftest import ROOT, said


class Copilot:
    """One agent on one call, with the agent's own key (and an X-Agent-Id header that must not matter)."""

    def __init__(self, servers: Servers, agent: str = "demo-agent") -> None:
        self.url = servers.copilot_url
        self.headers = {"Authorization": f"Bearer {servers.demo_agent_keys[agent]}", "X-Agent-Id": "agent-007"}
        self.call = f"call-{uuid.uuid4().hex[:8]}"

    def post(self, path: str, **payload) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=payload, headers=self.headers, timeout=60)

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.url}{path}", headers=self.headers, timeout=10)

    def handle(self, customer_id: str) -> dict:
        """Claim a handoff of this customer (as the bot records one): the agent now handles them."""
        summary = {"reason": "asked", "language": "zh", "intents": ["request_human"], "customer_said": ["转人工"],
                   "answered": [], "emotion_trend": [], "emotion": "calm", "anxiety": 0.0}
        claimed = self.post(f"/api/handoffs/{handoff.record(customer_id, summary)}/claim")
        assert claimed.status_code == 201, claimed.text
        return claimed.json()

    def hear(self, text: str, customer_id: str | None = None) -> dict:
        reply = self.post(f"/api/calls/{self.call}/utterances", text=text, customer_id=customer_id)
        assert reply.status_code == 200, reply.text
        return reply.json()


@pytest.fixture
def copilot(servers):
    return Copilot(servers)


@pytest.fixture
def supervisor(servers):
    return Copilot(servers, "demo-supervisor")


def agents_cli(*args: str) -> subprocess.CompletedProcess:
    """The agents command, run as an administrator would, against the servers' database."""
    return subprocess.run([sys.executable, "-m", "bot.copilot.agents", *args], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)


def test_every_api_call_needs_a_valid_agent_key(servers, copilot):
    path = f"{copilot.url}/api/calls/c1/utterances"
    missing = requests.post(path, json={"text": "你好"}, timeout=10)
    assert missing.status_code == 401 and "missing agent key" in missing.json()["error"]
    wrong = {"Authorization": "Bearer not-the-key"}
    unknown = requests.post(path, json={"text": "你好"}, headers=wrong, timeout=10)
    assert unknown.status_code == 401 and unknown.json() == {"error": "unknown agent key"}
    assert requests.get(f"{copilot.url}/api/handoffs", headers=wrong, timeout=10).status_code == 401
    assert requests.get(f"{copilot.url}/api/me", headers={"X-Agent-Id": "demo-agent"}, timeout=10).status_code == 401
    assert requests.get(f"{copilot.url}/copilot", timeout=10).status_code == 200  # the page asks for the key
    assert copilot.get("/api/me").json() == {"agent_id": "demo-agent", "name": "Demo agent 演示坐席", "role": "agent",
                                             "team": "service"}


def test_an_agent_added_by_the_command_works_until_disabled(servers):
    agent_id = f"e2e-{uuid.uuid4().hex[:6]}"
    added = agents_cli("add", agent_id, "--name", "张敏", "--role", "agent")
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {key}"}
    assert requests.get(f"{servers.copilot_url}/api/me", headers=headers, timeout=10).json()["agent_id"] == agent_id
    assert agents_cli("disable", agent_id).returncode == 0
    refused = requests.get(f"{servers.copilot_url}/api/me", headers=headers, timeout=10)
    assert refused.status_code == 401 and refused.json() == {"error": f"agent {agent_id} is disabled"}
    assert f"{agent_id}\tagent\tdisabled" in agents_cli("list").stdout


def test_the_agent_id_in_every_record_comes_from_the_key_not_from_a_header(copilot):
    turn = copilot.hear("我的卡丢了")["turn_id"]
    stored = copilot.post("/api/feedback", call_id=copilot.call, turn_id=turn, kind="reply", verdict="used")
    assert stored.status_code == 201 and stored.json()["agent"] == "demo-agent"
    records = store.call_records(copilot.call)
    assert [t["agent"] for t in records["turns"]] == ["demo-agent"]
    assert [f["agent"] for f in records["feedback"]] == ["demo-agent"]  # the header said agent-007


def test_supervisors_read_the_feedback_summary_agents_do_not_both_take_handoffs(copilot, supervisor):
    refused = copilot.get("/api/feedback/summary")
    assert refused.status_code == 403 and "supervisor" in refused.json()["error"]
    assert supervisor.get("/api/feedback/summary").status_code == 200
    assert copilot.get("/api/handoffs").status_code == 200 and supervisor.get("/api/handoffs").status_code == 200


def test_product_question_above_the_customers_level_raises_an_alert(copilot):
    copilot.handle("demo-c2")
    result = copilot.hear("我想买股票基金", customer_id="demo-c2")
    assert result["intent"]["name"] == "product_inquiry"
    assert result["emotion"]["label"] == "calm" and 0 <= result["emotion"]["score"] <= 1
    rules = [a["rule"] for a in result["alerts"]]
    assert rules == ["mismatch"] and "C2" in result["alerts"][0]["message"]
    reply = result["suggested_reply"]
    assert reply["compliant"] and reply["source"] == "anxin-dialogue" and reply["text"]


def test_customer_without_assessment_gets_the_assessment_alert(copilot):
    nobody = f"nobody-{uuid.uuid4().hex[:6]}"
    copilot.handle(nobody)
    result = copilot.hear("有什么理财产品推荐吗", customer_id=nobody)
    assert [a["rule"] for a in result["alerts"]] == ["no_assessment"]


def test_emotion_trend_builds_over_the_call_and_distress_is_flagged(copilot):
    first = copilot.hear("你好，我想问一下信用卡年费")  # no customer given: every feature but the reply
    assert "customer" in first["suggested_reply"]["error"]
    assert first["emotion"]["label"] == "calm"
    copilot.hear("我的基金跌了好多，我好害怕，晚上都睡不着，怎么办")
    third = copilot.hear("你们到底管不管！亏了这么多钱，我要投诉！！！")
    trend = [t["emotion"] for t in third["emotion"]["trend"]]
    assert trend[0] == "calm" and trend[1] == "anxious" and trend[2] in ("angry", "distressed")
    assert "distress_trend" in [a["rule"] for a in third["alerts"]]


def test_knowledge_snippets_come_with_their_source(copilot):
    result = copilot.hear("信用卡年费是怎么收的")
    snippets = result["knowledge"]["snippets"]
    assert snippets and snippets[0]["entry_id"] == "cards-annual-fee"
    assert snippets[0]["source"] == "knowledge/faq/cards.yml" and snippets[0]["title"]


def test_draft_check_finds_forbidden_wording_missing_warning_and_unsuitable_product(copilot):
    copilot.handle("demo-c2")
    bad = copilot.post("/api/drafts/check", text="安心成长股票基金保本，稳赚不赔", customer_id="demo-c2").json()
    rules = {f["rule"] for f in bad["findings"]}
    assert not bad["ok"] and {"guarantees", "missing_warning", "unsuitable_product"} <= rules
    good = copilot.post("/api/drafts/check", text="您好，我帮您查一下转账限额，请稍等。").json()
    assert good == {"ok": True, "findings": []}


def test_feedback_is_stored_and_counted(copilot, supervisor):
    turn = copilot.hear("我的卡丢了")["turn_id"]
    before = supervisor.get("/api/feedback/summary").json()
    used = copilot.post("/api/feedback", call_id=copilot.call, turn_id=turn, kind="reply", verdict="used")
    assert used.status_code == 201
    edited = copilot.post("/api/feedback", call_id=copilot.call, turn_id=turn, kind="reply", verdict="edited",
                          text="我马上帮您挂失。")
    assert edited.status_code == 201
    after = supervisor.get("/api/feedback/summary").json()
    for verdict in ("used", "edited"):
        assert after["reply"][verdict] == before.get("reply", {}).get(verdict, 0) + 1
    assert copilot.post("/api/feedback", call_id=copilot.call, turn_id=turn, kind="reply",
                        verdict="edited").status_code == 400  # an edit without the edited text
    assert copilot.post("/api/feedback", call_id=copilot.call, turn_id=turn, kind="reply",
                        verdict="loved").status_code == 400
    assert copilot.post("/api/feedback", call_id="other-call", turn_id=turn, kind="reply",
                        verdict="used").status_code == 404


def test_handoffs_from_the_bot_arrive_with_a_summary(copilot, chat):
    """The queue lists the handoff (no customer, no summary); claiming it shows the summary."""
    chat.texts("我的卡丢了怎么办")
    assert said(chat.texts("转人工"), "utter_handoff", "zh")
    [made] = handoff.recent(chat.sender)
    listed = [h for h in copilot.get("/api/handoffs").json() if h["id"] == made.id]
    assert listed and listed[0]["reason"] == "asked" and "summary" not in listed[0]
    claimed = copilot.post(f"/api/handoffs/{made.id}/claim").json()["handoff"]
    assert claimed["customer"] == chat.sender and "转人工" in " ".join(claimed["summary"]["customer_said"])
    assert "request_human" in claimed["summary"]["intents"]


@pytest.mark.parametrize("body, status", [
    (b"not json", 400), (b"[1, 2]", 400), (b'{"text": ""}', 400), (b'{"text": 5}', 400),
    (("{\"text\": \"" + "长" * 5000 + "\"}").encode(), 413), (b"\xff\xfe", 400),
])
def test_bad_requests_get_clear_errors(copilot, body, status):
    reply = requests.post(f"{copilot.url}/api/calls/{copilot.call}/utterances", data=body,
                          headers=copilot.headers, timeout=10)
    assert reply.status_code == status and "error" in reply.json()
    bad_call = requests.post(f"{copilot.url}/api/calls/{'x' * 80}/utterances", json={"text": "hi"},
                             headers=copilot.headers, timeout=10)
    assert bad_call.status_code == 400
    bad_customer = copilot.post(f"/api/calls/{copilot.call}/utterances", text="hi", customer_id="copilot:x")
    assert bad_customer.status_code == 400 and "customer_id" in bad_customer.json()["error"]


@pytest.mark.parametrize("customer, level", [("demo-c5", 5), ("demo-c2", 2)])
def test_the_suggested_reply_names_only_products_of_the_customers_level_and_audits_nothing(copilot, customer, level):
    copilot.handle(customer)
    # Records of what the customer was shown; the agent's own read of the customer is audited too.
    shown = lambda: [e for e in audit.history(customer) if e.kind in audit.SHOWN_KINDS]  # noqa: E731
    before = len(shown())
    result = copilot.hear("有什么理财产品推荐吗", customer_id=customer)
    reply = result["suggested_reply"]
    assert reply["compliant"] and rulebook.current().mandatory_warning["zh"] in reply["text"], reply
    named = catalogue.named_in(reply["text"])
    assert named and all(p.risk_rank <= level for p in named), [p.id for p in named]
    if level == 2:
        assert any(p.risk_rank == 2 for p in named)  # the customer's own level, not the shadow sender's (none)
    assert len(shown()) == before  # nothing was shown to the customer
    assert audit.history(f"copilot:{copilot.call}") == []


def test_a_rehearsed_transfer_moves_no_money(copilot):
    customer = f"demo-sh{uuid.uuid4().hex[:6]}"
    copilot.handle(customer)
    balance = accounts.account(customer).balance
    heard = copilot.hear("transfer 100 to 张三", customer_id=customer)
    asked = heard["suggested_reply"]  # in the utterance's language (a Chinese name makes it Chinese)
    assert said(asked["text"].split("\n\n"), "utter_confirm_transfer", heard["language"]), asked
    done = copilot.hear("yes", customer_id=customer)["suggested_reply"]
    assert said(done["text"].split("\n\n"), "utter_transfer_rehearsal", "en"), done
    assert accounts.account(customer).balance == balance and accounts.transferred_today(customer) == 0


@pytest.fixture(scope="module")
def limited_copilot(servers):
    """A second copilot with small limits (3 a minute per agent, 6 per address), sharing the
    servers' database and demo agent keys."""
    small = Servers(rasa_port=servers.rasa_port, action_port=servers.action_port,
                    copilot_port=servers.copilot_port + 1, token=servers.token,
                    demo_agent_keys=servers.demo_agent_keys)
    with pytest.MonkeyPatch.context() as env:  # the limits of this copilot only
        env.setenv("ANXIN_RATE_LIMIT_AGENT", "3/minute")
        env.setenv("ANXIN_RATE_LIMIT_ADDRESS", "6/minute")
        small.start_copilot()
    try:
        small.wait(small.copilot_ready, "copilot", 240)
        yield small
    finally:
        small.stop()


def test_rate_limits_per_agent_then_per_address(limited_copilot, servers):
    url = f"{limited_copilot.copilot_url}/api/me"
    agent = {"Authorization": f"Bearer {servers.demo_agent_keys['demo-agent']}"}
    boss = {"Authorization": f"Bearer {servers.demo_agent_keys['demo-supervisor']}"}
    assert [requests.get(url, headers=agent, timeout=10).status_code for _ in range(3)] == [200] * 3
    over = requests.get(url, headers=agent, timeout=10)
    assert over.status_code == 429 and "agent" in over.json()["error"]
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert requests.get(url, headers=boss, timeout=10).status_code == 200  # another agent: own count
    # refused keys count on their own: six guesses are answered 401, the seventh 429
    assert [requests.get(url, timeout=10).status_code for _ in range(6)] == [401] * 6
    flooded = requests.get(url, timeout=10)
    assert flooded.status_code == 429 and "address" in flooded.json()["error"]
    # the agents behind this address had made 5 requests: the 6th passes, the 7th is over
    assert requests.get(url, headers=boss, timeout=10).status_code == 200
    over_address = requests.get(url, headers=boss, timeout=10)
    assert over_address.status_code == 429 and "address" in over_address.json()["error"]
    assert requests.get(f"{servers.copilot_url}/api/me", headers=boss, timeout=10).status_code == 200  # default limits
