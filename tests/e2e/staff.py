"""Staff on the real copilot for the end-to-end tests: an agent with a key of their own, and the
way an agent comes to handle a customer (the bot's handoff for them, claimed from the queue)."""

from __future__ import annotations

import uuid

import requests

from bot import handoff
from bot.copilot import agents
from bot.servers import Servers


class Staff:
    """One agent or supervisor calling the copilot's API with their own key."""

    def __init__(self, servers: Servers, key: str, agent_id: str) -> None:
        self.url, self.agent_id = servers.copilot_url, agent_id
        self.headers = {"Authorization": f"Bearer {key}"}

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.url}{path}", headers=self.headers, timeout=30)

    def post(self, path: str, **payload) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=payload, headers=self.headers, timeout=60)

    def claim(self, handoff_id: int) -> dict:
        claimed = self.post(f"/api/handoffs/{handoff_id}/claim")
        assert claimed.status_code == 201, claimed.text
        return claimed.json()

    def handle(self, customer_id: str) -> dict:
        """Take a handoff of this customer, as written by the bot's handoff action, from the queue."""
        summary = {"reason": "asked", "language": "zh", "intents": ["request_human"], "customer_said": ["转人工"],
                   "answered": [], "emotion_trend": [], "emotion": "calm", "anxiety": 0.0}
        return self.claim(handoff.record(customer_id, summary))


def demo(servers: Servers, agent_id: str = "demo-agent") -> Staff:
    return Staff(servers, servers.demo_agent_keys[agent_id], agent_id)


def new(servers: Servers, role: str = "agent", team: str | None = None) -> Staff:
    """A new agent (or supervisor) of ``team`` (default: the default handoff team)."""
    agent_id = f"e2e-{role}-{uuid.uuid4().hex[:6]}"
    teams = [team] if team else []  # the default team: the same call as before agents had teams
    return Staff(servers, agents.add(agent_id, f"E2E {role}", role, *teams), agent_id)
