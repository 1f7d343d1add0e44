"""The copilot's view of the Rasa server: intent detection (HTTP API ``/model/parse``, with the
server's token) and the bot's own reply (the app REST channel, in a shadow conversation)."""

from __future__ import annotations

import asyncio
from functools import partial

import requests

TIMEOUT_SECONDS = 10


class RasaClient:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def _post(self, path: str, payload: dict, params: dict | None = None):
        reply = requests.post(f"{self.base_url}{path}", json=payload, params=params, timeout=TIMEOUT_SECONDS)
        reply.raise_for_status()
        return reply.json()

    async def _call(self, path: str, payload: dict, params: dict | None = None):
        return await asyncio.get_running_loop().run_in_executor(None, partial(self._post, path, payload, params))

    async def parse(self, text: str) -> dict:
        parsed = await self._call("/model/parse", {"text": text}, {"token": self.token})
        intent = parsed.get("intent") or {}
        ranking = [{"name": i["name"], "confidence": round(i["confidence"], 3)}
                   for i in (parsed.get("intent_ranking") or [])[:3]]
        return {"name": intent.get("name"), "confidence": round(float(intent.get("confidence") or 0), 3),
                "ranking": ranking}

    async def bot_reply(self, sender: str, text: str) -> list[dict]:
        return await self._call("/webhooks/rest/webhook", {"sender": sender, "message": text})
