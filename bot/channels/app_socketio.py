"""socket.io for the app's live chat widget: Rasa's channel, with the customer from the token.

Rasa's own ``jwt_key`` only checks a token at connect time and then lets the client choose
its session id, i.e. the conversation. Here the token (``auth: {"token": ...}`` at connect)
is verified with the same keys as the REST channel, and the socket is bound to that
customer: the session id and every message's sender are the token's ``sub`` whatever the
client sends, the customer's sockets share one room, and a socket without a valid token is
refused at connect. A socket whose token expires is refused its next message.

The Engine.IO session id (``sid``) must not work as a bearer credential: over the long-polling
transport any HTTP request naming a sid speaks and listens for that session, so whoever saw a
sid (in a log, a proxy, a shared screen) could send messages as the customer. The server
therefore speaks WebSocket only: the session lives on the one connection that presented the
token, and a request naming its sid from anywhere else is refused (Engine.IO refuses HTTP
requests for an upgraded session and transports it does not offer). Clients connect with
``transports: ["websocket"]``. Frames are bounded (``ANXIN_MAX_BODY_BYTES``), and a message's
metadata like the REST channel's (``bot.channels.inbound.bounded_metadata``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot import settings
from bot.channels.inbound import InboundError, bounded_metadata, dialogue_text
from bot.identity.party import strip_reserved
from bot.identity.tokens import CustomerClaims, CustomerTokens, TokenError
from bot.ratelimit import Limiter, client_address

logger = logging.getLogger(__name__)
ERROR_EVENT = "anxin_error"


class AppSocketIOInput(SocketIOInput):
    """socket.io channel whose conversation is the signed-in customer (credentials.yml)."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        channel = cls(credentials.get("user_message_evt", "user_uttered"),
                      credentials.get("bot_message_evt", "bot_uttered"),
                      credentials.get("namespace"), True, credentials.get("socketio_path", "/socket.io"))
        channel.tokens = CustomerTokens(credentials.get("jwt_secret"), credentials.get("jwt_public_key"),
                                        credentials.get("jwt_audience"), credentials.get("jwt_issuer"))
        return channel

    tokens: CustomerTokens = CustomerTokens()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[], transports=["websocket"],
                          max_http_buffer_size=settings.max_body_bytes())
        webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        signed_in: dict[str, CustomerClaims] = {}
        by_address, by_customer = Limiter(settings.rate_limit("address")), Limiter(settings.rate_limit("customer"))

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict, auth: dict | None) -> bool:
            request = environ.get("sanic.request")  # engine.io's environ says 127.0.0.1 for everyone
            address = client_address(request) if request else "unknown"
            token = auth.get("token") if isinstance(auth, dict) else None
            try:
                claims = self.tokens.verify(token if isinstance(token, str) else "")
            except TokenError as error:
                # refused sign-ins count on their own (as on REST): guessing is bounded without
                # spending the budget of the signed-in customers behind the same address
                by_address.hit(f"unauthenticated:{address}")
                logger.info("socket.io connection refused: %s", error)
                return False
            if not by_address.hit(address):
                logger.info("socket.io connection refused: too many from one address")
                return False
            signed_in[sid] = claims
            return True

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str) -> None:
            signed_in.pop(sid, None)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, _data: Any) -> None:
            claims = signed_in.get(sid)
            if claims is None:
                return
            sio.enter_room(sid, claims.customer_id)  # python-socketio 5.9 (pinned): not a coroutine
            await sio.emit("session_confirm", claims.customer_id, room=sid)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            claims = signed_in.get(sid)
            try:
                if claims is None or not self.tokens.still_valid(claims):
                    signed_in.pop(sid, None)
                    raise InboundError(401, "sign in again: the customer token is missing or has expired")
                if not by_customer.hit(claims.customer_id):
                    raise InboundError(429, f"too many messages; try again in "
                                            f"{by_customer.retry_after(claims.customer_id)} s")
                if not isinstance(data, dict):
                    raise InboundError(400, 'a message must be an object {"message": "..."}')
                text = data.get("message", "")
                if not isinstance(text, str):
                    raise InboundError(400, '"message" must be a string')
                metadata = data.get(self.metadata_key) or {}
                if isinstance(metadata, str):
                    metadata = json.loads(metadata)
                if not isinstance(metadata, dict):
                    raise InboundError(400, '"metadata" must be an object')
                metadata = bounded_metadata(metadata)
                text = dialogue_text(text)
            except (InboundError, ValueError, RecursionError) as error:
                status, message = (error.status, error.message) if isinstance(error, InboundError) \
                    else (400, "metadata is not valid JSON")
                await sio.emit(ERROR_EVENT, {"status": status, "error": message}, room=sid)
                return
            output = SocketIOOutput(sio, self.bot_message_evt)
            await on_new_message(UserMessage(text, output, claims.customer_id, input_channel=self.name(),
                                             metadata=strip_reserved(metadata)))

        return webhook

