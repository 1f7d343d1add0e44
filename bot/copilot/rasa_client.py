"""The copilot's view of the Rasa server, both calls authenticated with the server's token
(``ANXIN_API_TOKEN``): intent detection (HTTP API ``/model/parse``) and the bot's own reply
for the call's customer (the copilot channel, ``bot.channels.copilot_shadow``: a shadow
conversation ``copilot:<call_id>`` answered as for that customer, with no side effects).

The token travels only in ``Authorization: Bearer <token>``, never in an address. (Rasa 3.6's
own ``rasa.server.requires_auth`` reads ``?token=`` only; ``bot.rasa_ext.server`` makes the
HTTP API take the header and refuse a token in the address.) A failed call raises
``RasaUnavailable`` naming the path and the status or error class only, with the original
exception (whose text holds the full URL) dropped, so no error the copilot returns to an agent
and no log line carries the server's address details or token."""

from __future__ import annotations

import asyncio
from functools import partial

import requests

TIMEOUT_SECONDS = 10
SHADOW_PATH = "/webhooks/copilot/webhook"


class RasaUnavailable(RuntimeError):
    """The Rasa server did not answer; the message holds no URL, query or token."""


class RasaClient:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def _post(self, path: str, payload: dict):
        try:
            reply = requests.post(f"{self.base_url}{path}", json=payload,
                                  headers={"Authorization": f"Bearer {self.token}"}, timeout=TIMEOUT_SECONDS)
        except requests.RequestException as error:  # its text names the URL
            raise RasaUnavailable(f"Rasa server {path}: {type(error).__name__}") from None
        if reply.status_code >= 400:
            raise RasaUnavailable(f"Rasa server {path}: HTTP {reply.status_code}")
        try:
            return reply.json()
        except ValueError:
            raise RasaUnavailable(f"Rasa server {path}: the answer is not JSON") from None

    async def _call(self, path: str, payload: dict):
        return await asyncio.get_running_loop().run_in_executor(None, partial(self._post, path, payload))

    async def parse(self, text: str) -> dict:
        parsed = await self._call("/model/parse", {"text": text})
        intent = parsed.get("intent") or {}
        ranking = [{"name": i["name"], "confidence": round(i["confidence"], 3)}
                   for i in (parsed.get("intent_ranking") or [])[:3]]
        return {"name": intent.get("name"), "confidence": round(float(intent.get("confidence") or 0), 3),
                "ranking": ranking}

    async def bot_reply(self, call_id: str, customer_id: str, text: str) -> list[dict]:
        """What the bot would answer ``customer_id`` (shadow turn: nothing is executed or audited)."""
        return await self._call(SHADOW_PATH, {"call_id": call_id, "customer_id": customer_id, "message": text})
