"""V7 Logging: every read of a customer by an agent is in the audit trail (who, which customer,
what, why), break-glass access as break-glass; and no error the copilot shows an agent carries
the Rasa server's API token (issue 23).

Through the real Rasa, action and copilot servers; the audit trail is read from the servers'
compliance database.
"""

from __future__ import annotations

import uuid

import pytest
import requests

from bot import handoff
from bot.compliance import audit
from bot.compliance.masking import mask
from bot.copilot import agents
from bot.servers import Servers
from tests.e2e import staff


def agent_reads(customer: str) -> list[audit.Entry]:
    return [e for e in audit.history(customer) if e.kind == "agent_read"]


def test_every_read_of_a_handled_customer_is_audited_naming_agent_customer_what_and_why(servers, chat_as):
    customer = f"demo-v7{uuid.uuid4().hex[:8]}"
    chat_as(customer).texts("转人工")
    waiting = handoff.recent(customer)[0]
    agent = staff.new(servers)
    assert agent_reads(customer) == []
    call = agent.claim(waiting.id)["call_id"]
    replies = [agent.get(f"/api/customers/{customer}/advisory"),
               agent.post(f"/api/calls/{call}/utterances", text="查一下我的余额", customer_id=customer),
               agent.post("/api/drafts/check", text="您好", customer_id=customer),
               agent.get(f"/api/handoffs/{waiting.id}"),
               agent.post(f"/api/customers/{customer}/report")]
    assert [r.status_code for r in replies] == [200, 200, 200, 200, 201], [r.text for r in replies]
    records = agent_reads(customer)
    assert len(records) == 6  # the claim showed the handoff's summary too
    for record in records:
        assert record.customer_id == customer and f"agent {agent.agent_id}" in record.detail
        assert f"why: handling handoff #{waiting.id}" in record.detail
    what = " | ".join(r.detail for r in records)
    for read in ("holdings", "rehearsed reply", "risk level", f"handoff #{waiting.id} summary", "report link"):
        assert read in what, what
    assert audit.verify().ok


def test_break_glass_is_audited_as_break_glass_with_its_reason_and_each_read_under_it(servers):
    customer = f"demo-v7{uuid.uuid4().hex[:8]}"
    agent = staff.new(servers)
    refused = agent.post("/api/break-glass", customer_id=customer)
    assert refused.status_code == 400 and not audit.history(customer)  # no reason: no access, no record
    reason = "客户电话投诉，无转人工记录，核实持仓"
    assert agent.post("/api/break-glass", customer_id=customer, reason=reason).status_code == 201
    assert agent.get(f"/api/customers/{customer}/advisory").status_code == 200
    [opened] = [e for e in audit.history(customer) if e.kind == "break_glass"]
    assert agent.agent_id in opened.detail and reason in opened.detail
    [read] = agent_reads(customer)
    assert agent.agent_id in read.detail and "why: break-glass" in read.detail and reason in read.detail


def test_reads_of_a_customer_are_not_in_the_trail_of_another_whose_id_masks_alike(servers):
    """Red team (2026-12-06): the trail told customers apart by masked id only, so a search for one
    listed the other's records. New records carry the exact customer reference."""
    last, first, second = (f"{uuid.uuid4().int % 10000:04d}" for _ in range(3))
    second = second if second != first else f"{(int(first) + 1) % 10000:04d}"
    handled, other = f"demo-138{first}{last}", f"demo-138{second}{last}"
    assert mask(handled) == mask(other)
    agent = staff.new(servers)
    waiting = agent.handle(handled)["handoff"]
    assert agent.get(f"/api/customers/{handled}/advisory").status_code == 200
    assert agent.get(f"/api/handoffs/{waiting['id']}").status_code == 200
    assert len(agent_reads(handled)) == 3 and agent_reads(other) == []
    officer = f"e2e-officer-{uuid.uuid4().hex[:6]}"
    key = agents.add(officer, "E2E officer", "compliance")

    def searched(customer: str) -> list[dict]:
        found = requests.get(f"{servers.copilot_url}/console/api/audit", params={"customer": customer},
                             headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert found.status_code == 200, found.text
        return [r for r in found.json()["records"] if r["kind"] != "console_read"]

    assert len(searched(handled)) == 3 and searched(other) == []
    assert len(searched(mask(other))) == 3  # the masked form finds every record of that mask
    assert audit.verify().ok


def test_a_supervisors_read_of_a_team_handoff_is_audited_as_supervision(servers, chat_as):
    customer = f"demo-v7{uuid.uuid4().hex[:8]}"
    chat_as(customer).texts("转人工")
    waiting = handoff.recent(customer)[0]
    supervisor = staff.new(servers, "supervisor")
    assert supervisor.get(f"/api/handoffs/{waiting.id}").status_code == 200
    [read] = agent_reads(customer)
    assert f"supervisor {supervisor.agent_id}" in read.detail and "why: supervisor of team" in read.detail


@pytest.fixture(scope="module")
def copilot_without_rasa(servers):
    """A second copilot whose Rasa server is down (a port nothing listens on), with the real
    token: what an agent sees when the Rasa server cannot be reached."""
    lost = Servers(rasa_port=servers.copilot_port + 3, action_port=servers.action_port,
                   copilot_port=servers.copilot_port + 2, token=servers.token,
                   demo_agent_keys=servers.demo_agent_keys)
    lost.start_copilot("copilot-without-rasa")
    try:
        lost.wait(lost.copilot_ready, "copilot-without-rasa", 240)
        yield lost
    finally:
        lost.stop()


def test_copilot_errors_shown_to_agents_never_carry_the_rasa_token(copilot_without_rasa, servers):
    agent = staff.Staff(copilot_without_rasa, servers.demo_agent_keys["demo-agent"], "demo-agent")
    reply = agent.post(f"/api/calls/call-{uuid.uuid4().hex[:8]}/utterances", text="你好")
    assert reply.status_code == 200 and "intent unavailable" in reply.json()["intent"]["error"]
    assert servers.token not in reply.text and "token=" not in reply.text
    log = (copilot_without_rasa.logs / "copilot-without-rasa.log").read_text(encoding="utf-8", errors="replace")
    assert servers.token not in log
    assert requests.get(f"{copilot_without_rasa.copilot_url}/health", timeout=10).status_code == 200
