"""The copilot's view of the Rasa server, both calls authenticated with the server's token
(``ANXIN_API_TOKEN``): intent detection (HTTP API ``/model/parse``) and the bot's own reply
for the call's customer (the copilot channel, ``bot.channels.copilot_shadow``: a shadow
conversation ``copilot:<call_id>`` answered as for that customer, with no side effects)."""

from __future__ import annotations

import asyncio
from functools import partial

import requests

TIMEOUT_SECONDS = 10
SHADOW_PATH = "/webhooks/copilot/webhook"


class RasaClient:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def _post(self, path: str, payload: dict, params: dict | None = None, headers: dict | None = None):
        reply = requests.post(f"{self.base_url}{path}", json=payload, params=params, headers=headers,
                              timeout=TIMEOUT_SECONDS)
        reply.raise_for_status()
        return reply.json()

    async def _call(self, path: str, payload: dict, params: dict | None = None, headers: dict | None = None):
        return await asyncio.get_running_loop().run_in_executor(
            None, partial(self._post, path, payload, params, headers))

    async def parse(self, text: str) -> dict:
        parsed = await self._call("/model/parse", {"text": text}, {"token": self.token})
        intent = parsed.get("intent") or {}
        ranking = [{"name": i["name"], "confidence": round(i["confidence"], 3)}
                   for i in (parsed.get("intent_ranking") or [])[:3]]
        return {"name": intent.get("name"), "confidence": round(float(intent.get("confidence") or 0), 3),
                "ranking": ranking}

    async def bot_reply(self, call_id: str, customer_id: str, text: str) -> list[dict]:
        """What the bot would answer ``customer_id`` (shadow turn: nothing is executed or audited)."""
        return await self._call(SHADOW_PATH, {"call_id": call_id, "customer_id": customer_id, "message": text},
                                headers={"Authorization": f"Bearer {self.token}"})
