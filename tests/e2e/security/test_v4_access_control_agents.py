"""V4 Access control: an agent's key opens a customer only while the agent handles that customer
(issue 23: "agents have no customer scope").

Through the real Rasa, action and copilot servers. The customer's handoff comes from the bot
(the customer asks for a person, or is in crisis); the agent sees the customer only after
claiming it (or being assigned it by a supervisor of the team), or with break-glass access given
a reason. Refusals are 403 with a JSON error and no data.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from bot import handoff
from bot.compliance.masking import mask
from tests.e2e import staff
from tests.e2e.conftest import said

BALANCE_QUESTION = "查一下我的余额"


def bot_handoff(chat_as, customer: str, message: str = "转人工") -> handoff.Handoff:
    """The customer asks the bot for a person (or is in crisis): the bot's handoff, as stored."""
    chat_as(customer).texts(message)
    found = handoff.recent(customer)
    assert found, f"the bot made no handoff for {customer}"
    return found[0]


def refused(reply, reason: str) -> None:
    assert reply.status_code == 403, (reply.status_code, reply.text)
    body = reply.json()
    assert body["reason"] == reason and body["error"], body
    assert set(body) == {"error", "reason"}  # nothing of the customer


@pytest.fixture
def customer() -> str:
    return f"demo-v4{uuid.uuid4().hex[:8]}"


def reads(agent: staff.Staff, customer: str, handoff_id: int, call: str) -> dict:
    """Every way the copilot shows a customer: holdings, the bot's rehearsed reply on their data
    (their balance), their risk level in a draft check, the handoff, a report link."""
    return {"holdings": agent.get(f"/api/customers/{customer}/advisory"),
            "rehearsal": agent.post(f"/api/calls/{call}/utterances", text=BALANCE_QUESTION, customer_id=customer),
            "draft": agent.post("/api/drafts/check", text="您好", customer_id=customer),
            "handoff": agent.get(f"/api/handoffs/{handoff_id}"),
            "report": agent.post(f"/api/customers/{customer}/report")}


def test_an_agent_not_handling_a_customer_gets_nothing_of_theirs(servers, chat_as, customer):
    waiting = bot_handoff(chat_as, customer)
    agent = staff.new(servers)
    got = reads(agent, customer, waiting.id, f"call-{uuid.uuid4().hex[:8]}")
    for what in ("holdings", "rehearsal", "draft", "report"):
        refused(got[what], "not_handling")
    refused(got["handoff"], "handoff_not_yours")
    queue = agent.get("/api/handoffs").json()  # the queue: enough to pick one, nobody's data
    listed = [h for h in queue if h["id"] == waiting.id]
    assert listed and not listed[0]["handled_by"]
    assert all("customer" not in h and "summary" not in h for h in queue)


def test_after_claiming_the_handoff_the_agent_sees_the_customer_until_releasing_it(servers, chat_as, customer):
    waiting = bot_handoff(chat_as, customer)
    agent = staff.new(servers)
    claimed = agent.claim(waiting.id)
    assert claimed["customer_id"] == customer and claimed["handoff"]["summary"]["intents"]
    got = reads(agent, customer, waiting.id, claimed["call_id"])
    assert all(reply.status_code in (200, 201) for reply in got.values()), {k: v.text for k, v in got.items()}
    assert got["holdings"].json()["customer_id"] == customer
    rehearsed = got["rehearsal"].json()["suggested_reply"]
    assert said(rehearsed["text"].split("\n\n"), "utter_balance", "zh"), rehearsed
    report = got["report"].json()
    lasts = datetime.fromisoformat(report["expires_at"]) - datetime.now(timezone.utc)
    assert lasts <= timedelta(hours=2)  # an agent's link lasts the call, not the customer's 72 hours
    assert agent.post(f"/api/handoffs/{waiting.id}/release").json() == {"released": True}
    refused(agent.get(f"/api/customers/{customer}/advisory"), "not_handling")


def test_a_handoff_one_agent_handles_is_not_anothers(servers, chat_as, customer):
    waiting = bot_handoff(chat_as, customer)
    first, second = staff.new(servers), staff.new(servers)
    first.claim(waiting.id)
    taken = second.post(f"/api/handoffs/{waiting.id}/claim")
    assert taken.status_code == 409 and taken.json()["reason"] == "handoff_taken"
    refused(second.get(f"/api/handoffs/{waiting.id}"), "handoff_not_yours")
    refused(second.get(f"/api/customers/{customer}/advisory"), "not_handling")
    assert waiting.id not in [h["id"] for h in second.get("/api/handoffs").json()]


def test_a_call_is_its_agents_alone(servers, chat_as, customer):
    """Another agent cannot read a call's emotion trend by posting into it."""
    waiting = bot_handoff(chat_as, customer)
    owner, other = staff.new(servers), staff.new(servers)
    call = owner.claim(waiting.id)["call_id"]
    assert owner.post(f"/api/calls/{call}/utterances", text="你好").status_code == 200
    refused(other.post(f"/api/calls/{call}/utterances", text="你好"), "call_of_another_agent")


def test_break_glass_needs_a_reason_and_then_opens_the_customer_for_a_while(servers, chat_as, customer):
    agent = staff.new(servers)
    for reason in (None, "", "   ", "x"):
        no_reason = agent.post("/api/break-glass", customer_id=customer, reason=reason)
        assert no_reason.status_code == 400 and no_reason.json()["reason"] == "reason_required", no_reason.text
    refused(agent.get(f"/api/customers/{customer}/advisory"), "not_handling")
    opened = agent.post("/api/break-glass", customer_id=customer, reason="客户来电投诉，系统未生成转人工，核实持仓")
    assert opened.status_code == 201, opened.text
    lasts = datetime.fromisoformat(opened.json()["expires_at"]) - datetime.now(timezone.utc)
    assert timedelta(0) < lasts <= timedelta(minutes=30)
    assert agent.get(f"/api/customers/{customer}/advisory").status_code == 200
    assert staff.new(servers).get(f"/api/customers/{customer}/advisory").status_code == 403  # that agent's only


def test_supervisors_see_their_teams_queue_crises_included_other_teams_see_none(servers, chat_as, customer):
    crisis = bot_handoff(chat_as, customer, "钱全被骗光了，我真的不想活了")
    assert crisis.summary.get("urgent")
    supervisor, agent = staff.new(servers, "supervisor"), staff.new(servers)
    assert crisis.id in [h["id"] for h in supervisor.get("/api/handoffs").json() if h["urgent"]]
    # A crisis is the supervisors' to take or assign: plain agents do not see it in the queue.
    assert crisis.id not in [h["id"] for h in agent.get("/api/handoffs").json()]
    assert supervisor.get(f"/api/handoffs/{crisis.id}").json()["customer"] == customer
    refused(agent.post(f"/api/handoffs/{crisis.id}/claim"), "handoff_not_yours")  # as if there were none
    refused(agent.get(f"/api/handoffs/{crisis.id}"), "handoff_not_yours")
    # Another team's staff see none of this team's handoffs, crisis or not.
    outsider = staff.new(servers, "agent", team=f"other-{uuid.uuid4().hex[:6]}")
    outsider_boss = staff.new(servers, "supervisor", team=outsider_team(outsider))
    for other in (outsider, outsider_boss):
        assert other.get("/api/handoffs").json() == []
        refused(other.get(f"/api/handoffs/{crisis.id}"), "handoff_not_yours")
    refused(outsider_boss.post(f"/api/handoffs/{crisis.id}/claim"), "handoff_not_yours")
    # The supervisor assigns it: now the agent handles that customer.
    assigned = supervisor.post(f"/api/handoffs/{crisis.id}/assign", agent_id=agent.agent_id)
    assert assigned.status_code == 201, assigned.text
    assert agent.get(f"/api/handoffs/{crisis.id}").json()["summary"]["reason"] == "crisis"
    assert agent.get(f"/api/customers/{customer}/advisory").status_code == 200
    not_a_boss = agent.post(f"/api/handoffs/{crisis.id}/assign", agent_id=outsider.agent_id)
    assert not_a_boss.status_code == 403


def outsider_team(outsider: staff.Staff) -> str:
    return outsider.get("/api/me").json()["team"]


def test_the_demo_agent_and_supervisor_share_a_team(servers):
    agent, supervisor = staff.demo(servers), staff.demo(servers, "demo-supervisor")
    assert agent.get("/api/me").json()["team"] == supervisor.get("/api/me").json()["team"] is not None


# --- found by the independent red team (2026-12-06) ------------------------------------------

def customers_masked_alike() -> tuple[str, str]:
    """Two demo customers whose ids show alike: demo-138****NNNN (the mask keeps 3 + 4 digits)."""
    last, first, second = (f"{uuid.uuid4().int % 10000:04d}" for _ in range(3))
    second = second if second != first else f"{(int(first) + 1) % 10000:04d}"
    one, other = f"demo-138{first}{last}", f"demo-138{second}{last}"
    assert one != other and mask(one) == mask(other)
    return one, other


def test_handling_a_customer_gives_nothing_of_another_whose_id_masks_alike(servers, chat_as):
    """Access is decided on the exact customer, not on the masked id stored for people to read."""
    handled, other = customers_masked_alike()
    chat_as(other).texts(BALANCE_QUESTION)  # the other customer exists, with an account
    waiting = bot_handoff(chat_as, handled)
    agent = staff.new(servers)
    call = agent.claim(waiting.id)["call_id"]
    assert agent.get(f"/api/customers/{handled}/advisory").status_code == 200
    got = reads(agent, other, waiting.id, call)
    for what in ("holdings", "rehearsal", "draft", "report"):
        refused(got[what], "not_handling")
    assert agent.get("/api/access").json()[0]["customer_id"] == mask(handled)  # shown masked, decided exactly


def test_break_glass_refuses_a_reason_without_visible_words(servers, customer):
    agent = staff.new(servers)
    for reason in ("\u200b" * 5, ".....", "。。。。。。", "\u200b.\u200d-\ufeff?\u2060!", "ab\u200b.c"):
        no_reason = agent.post("/api/break-glass", customer_id=customer, reason=reason)
        assert no_reason.status_code == 400 and no_reason.json()["reason"] == "reason_required", \
            (repr(reason), no_reason.status_code, no_reason.text)
    refused(agent.get(f"/api/customers/{customer}/advisory"), "not_handling")


def test_a_missing_handoff_and_one_not_yours_are_answered_alike(servers, chat_as, customer):
    """An agent probing ids learns nothing: no 404 for a handoff that does not exist, the same 403
    as for a crisis handoff (not in their queue) or another team's."""
    crisis = bot_handoff(chat_as, customer, "钱全被骗光了，我真的不想活了")
    agent = staff.new(servers)
    missing = crisis.id + 1_000_000
    for path in ("", "/claim"):
        method = agent.post if path else agent.get
        absent, foreign = method(f"/api/handoffs/{missing}{path}"), method(f"/api/handoffs/{crisis.id}{path}")
        refused(absent, "handoff_not_yours")
        refused(foreign, "handoff_not_yours")
        assert absent.json()["error"].replace(str(missing), "#") == foreign.json()["error"].replace(str(crisis.id), "#")
