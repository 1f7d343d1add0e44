"""The banking app's REST channel (``/webhooks/rest/webhook``) and the local web chat page.

It keeps the request and response shape of Rasa's built-in REST channel, so existing
clients work unchanged, and adds what the built-in one lacks: refusing unusable input
with a clear 4xx instead of a 500 or a silent empty reply (see ``bot.channels.inbound``),
and serving a small chat page at ``/webhooks/rest/chat`` for people to try the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.inbound import InboundError, parse_body

logger = logging.getLogger(__name__)
CHAT_PAGE = Path(__file__).with_name("static") / "chat.html"


class AppRestInput(InputChannel):
    """REST channel with input validation, configured in credentials.yml."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("anxin_app_rest", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/chat", methods=["GET"])
        async def chat_page(_: Request) -> HTTPResponse:
            return await response.file(CHAT_PAGE, mime_type="text/html; charset=utf-8")

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                inbound = parse_body(request.body or b"")
            except InboundError as error:
                return response.json({"error": error.message}, status=error.status)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(inbound.text, collector, inbound.sender,
                                                 input_channel=self.name(), metadata=inbound.metadata))
            except Exception:  # the dialogue failed: say so instead of an empty 200
                logger.exception("Dialogue failed for sender %s", inbound.sender)
                return response.json({"error": "the assistant failed to process this message; please retry"},
                                     status=503)
            return response.json(collector.messages)

        return webhook
