"""The copilot's rehearsal channel (``/webhooks/copilot/webhook``): what would the bot answer
the call's customer?

Only the agent copilot calls it, with the Rasa server's own token (``Authorization: Bearer
<ANXIN_API_TOKEN>``, configured in credentials.yml as ``token``). Body
``{"call_id": "...", "customer_id": "...", "message": "..."}``. The conversation is
``copilot:<call_id>`` on input channel ``copilot``, and the channel alone writes its metadata:
``{bot.identity.party.SHADOW_KEY: customer_id}`` — nothing else in the body reaches the
dialogue. The action server treats such turns as *shadow* turns (``bot.identity.party``):
answered as for that customer (their risk level decides which products are named), but no
transfer is executed, nothing is audited as shown to them, no risk profile is saved and no
handoff is recorded. Same response shape as the REST channel; refusals are JSON
(401 token, 400 body, 413 size, 503 not configured), as in ``bot.channels.app_rest``.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.inbound import InboundError, dialogue_text, json_object
from bot.identity.party import COPILOT_CHANNEL, SHADOW_KEY
from bot.identity.tokens import CUSTOMER_ID, bearer

logger = logging.getLogger(__name__)
CALL_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}\Z")  # as the copilot API accepts them
MAX_BODY_BYTES = 64 * 1024
SHAPE = '{"call_id": "...", "customer_id": "...", "message": "..."}'


def shadow_message(body: bytes) -> tuple[str, str, str]:
    """(sender id, customer id, dialogue text) of a valid body; InboundError otherwise."""
    if len(body) > MAX_BODY_BYTES:
        raise InboundError(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
    payload = json_object(body, SHAPE)
    call_id, customer_id, message = payload.get("call_id"), payload.get("customer_id"), payload.get("message")
    if not isinstance(call_id, str) or not CALL_ID.match(call_id):
        raise InboundError(400, '"call_id" must be 1-64 letters, digits or _.:-')
    if not isinstance(customer_id, str) or not CUSTOMER_ID.match(customer_id):
        raise InboundError(400, '"customer_id" must be 1-64 letters, digits or _.@- (the call\'s customer)')
    if not isinstance(message, str):
        raise InboundError(400, '"message" must be a string')
    return f"copilot:{call_id}", customer_id, dialogue_text(message)


class CopilotShadowInput(InputChannel):
    """Shadow turns for the agent copilot, authenticated by the Rasa server's token."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token or ""

    @classmethod
    def name(cls) -> str:
        return COPILOT_CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls((credentials or {}).get("token"))

    def authorized(self, authorization: str | None) -> bool:
        given = bearer(authorization)
        return bool(self.token) and hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("anxin_copilot_shadow", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.token else "not configured"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.token:
                return response.json({"error": "copilot channel not configured: set ANXIN_API_TOKEN"}, status=503)
            if not self.authorized(request.headers.get("authorization")):
                return response.json({"error": "missing or wrong server token (Authorization: Bearer <token>)"},
                                     status=401, headers={"WWW-Authenticate": 'Bearer realm="anxin"'})
            try:
                sender, customer_id, text = shadow_message(request.body or b"")
            except InboundError as error:
                return response.json({"error": error.message}, status=error.status)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(),
                                                 metadata={SHADOW_KEY: customer_id}))
            except Exception:  # the dialogue failed: say so instead of an empty 200
                logger.exception("Dialogue failed for sender %s", sender)
                return response.json({"error": "the assistant failed to process this message; please retry"},
                                     status=503)
            return response.json(collector.messages)

        return webhook
