"""The agent copilot's API through the real copilot, Rasa and action servers."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.e2e.conftest import said


@pytest.fixture
def copilot(servers):
    class Copilot:
        url = servers.copilot_url
        headers = {"Authorization": f"Bearer {servers.copilot_token}", "X-Agent-Id": "agent-007"}
        call = f"call-{uuid.uuid4().hex[:8]}"

        def post(self, path: str, **payload) -> requests.Response:
            return requests.post(f"{self.url}{path}", json=payload, headers=self.headers, timeout=60)

        def hear(self, text: str, customer_id: str | None = None) -> dict:
            reply = self.post(f"/api/calls/{self.call}/utterances", text=text, customer_id=customer_id)
            assert reply.status_code == 200, reply.text
            return reply.json()

    return Copilot()


def test_every_api_call_needs_the_token(servers, copilot):
    path = f"{copilot.url}/api/calls/c1/utterances"
    assert requests.post(path, json={"text": "你好"}, timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert requests.post(path, json={"text": "你好"}, headers=wrong, timeout=10).status_code == 401
    assert requests.get(f"{copilot.url}/api/handoffs", headers=wrong, timeout=10).status_code == 401
    assert requests.get(f"{copilot.url}/copilot", timeout=10).status_code == 200  # the page asks for it


def test_product_question_above_the_customers_level_raises_an_alert(copilot):
    result = copilot.hear("我想买股票基金", customer_id="demo-c2")
    assert result["intent"]["name"] == "product_inquiry"
    assert result["emotion"]["label"] == "calm" and 0 <= result["emotion"]["score"] <= 1
    rules = [a["rule"] for a in result["alerts"]]
    assert rules == ["mismatch"] and "C2" in result["alerts"][0]["message"]
    reply = result["suggested_reply"]
    assert reply["compliant"] and reply["source"] == "anxin-dialogue" and reply["text"]


def test_customer_without_assessment_gets_the_assessment_alert(copilot):
    result = copilot.hear("有什么理财产品推荐吗", customer_id=f"nobody-{uuid.uuid4().hex[:6]}")
    assert [a["rule"] for a in result["alerts"]] == ["no_assessment"]


def test_emotion_trend_builds_over_the_call_and_distress_is_flagged(copilot):
    first = copilot.hear("你好，我想问一下信用卡年费")
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
    bad = copilot.post("/api/drafts/check", text="安心成长股票基金保本，稳赚不赔", customer_id="demo-c2").json()
    rules = {f["rule"] for f in bad["findings"]}
    assert not bad["ok"] and {"guarantees", "missing_warning", "unsuitable_product"} <= rules
    good = copilot.post("/api/drafts/check", text="您好，我帮您查一下转账限额，请稍等。").json()
    assert good == {"ok": True, "findings": []}


def test_feedback_is_stored_and_counted(copilot):
    turn = copilot.hear("我的卡丢了")["turn_id"]
    before = requests.get(f"{copilot.url}/api/feedback/summary", headers=copilot.headers, timeout=10).json()
    used = copilot.post("/api/feedback", call_id=copilot.call, turn_id=turn, kind="reply", verdict="used")
    assert used.status_code == 201
    edited = copilot.post("/api/feedback", call_id=copilot.call, turn_id=turn, kind="reply", verdict="edited",
                          text="我马上帮您挂失。")
    assert edited.status_code == 201
    after = requests.get(f"{copilot.url}/api/feedback/summary", headers=copilot.headers, timeout=10).json()
    for verdict in ("used", "edited"):
        assert after["reply"][verdict] == before.get("reply", {}).get(verdict, 0) + 1
    assert copilot.post("/api/feedback", call_id=copilot.call, turn_id=turn, kind="reply",
                        verdict="edited").status_code == 400  # an edit without the edited text
    assert copilot.post("/api/feedback", call_id=copilot.call, turn_id=turn, kind="reply",
                        verdict="loved").status_code == 400
    assert copilot.post("/api/feedback", call_id="other-call", turn_id=turn, kind="reply",
                        verdict="used").status_code == 404


def test_handoffs_from_the_bot_arrive_with_a_summary(copilot, chat):
    chat.texts("我的卡丢了怎么办")
    assert said(chat.texts("转人工"), "utter_handoff", "zh")
    handoffs = requests.get(f"{copilot.url}/api/handoffs", headers=copilot.headers, timeout=10).json()
    mine = [h for h in handoffs if "转人工" in " ".join(h["summary"]["customer_said"])]
    assert mine and mine[0]["reason"] == "asked" and "request_human" in mine[0]["summary"]["intents"]


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
