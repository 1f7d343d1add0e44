"""The banking app's REST channel (``/webhooks/rest/webhook``) and the local web chat page.

It keeps the response shape of Rasa's built-in REST channel and adds what a bank needs:
every message carries the bank app's signed customer token (``Authorization: Bearer``), and
the conversation id is the token's customer — a body ``sender`` naming anybody else is
refused. Each client address and each customer is rate limited (429 with Retry-After;
``bot.settings.rate_limit``). Unusable input gets a clear 4xx instead of a 500 or a silent empty reply (see
``bot.channels.inbound``). The chat page at ``/webhooks/rest/chat`` takes a token from the
page address (``#token=``) or, in demo mode only, from the demo sign-in
(``/webhooks/rest/demo/sign-in``), which issues a short-lived token for a demo customer.
Allocation reports the bot links to are served at ``/webhooks/rest/report/<token>``
(``bot.channels.report_pages``).
Keys come from credentials.yml (``jwt_secret`` HS256, ``jwt_public_key`` RS256).
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

from bot import metrics, settings
from bot.channels import report_pages
from bot.channels.inbound import InboundError, json_object, parse_body
from bot.identity import demo
from bot.identity.tokens import CustomerTokens, TokenError, bearer
from bot.ratelimit import Limiter
from bot.ratelimit import client_address as limited_address

logger = logging.getLogger(__name__)
CHAT_PAGE = Path(__file__).with_name("static") / "chat.html"
NOT_CONFIGURED = ("customer sign-in is not configured: set ANXIN_APP_JWT_SECRET (HS256) or "
                  "ANXIN_APP_JWT_PUBLIC_KEY (RS256)")


def unauthorized(message: str) -> HTTPResponse:
    return response.json({"error": message}, status=401, headers={"WWW-Authenticate": 'Bearer realm="anxin"'})


def authenticate(tokens: CustomerTokens, request: Request) -> str:
    """The customer id of the request's token; InboundError (401/503) when there is none."""
    if not tokens.configured:
        raise InboundError(503, NOT_CONFIGURED)
    try:
        return tokens.verify(bearer(request.headers.get("authorization"))).customer_id
    except TokenError as error:
        raise InboundError(401, str(error)) from error


def refusal(error: InboundError) -> HTTPResponse:
    if error.status == 401:
        return unauthorized(error.message)
    return response.json({"error": error.message}, status=error.status)


def too_many(limiter: Limiter, key: str) -> HTTPResponse:
    wait = limiter.retry_after(key)
    metrics.RATE_LIMITED.labels("rest").inc()
    return response.json({"error": f"too many messages; try again in {wait} s"}, status=429,
                         headers={"Retry-After": str(wait)})


def client_address(request: Request) -> str:
    """The client's address: behind a proxy listed in ``ANXIN_TRUSTED_PROXIES``, the client it
    forwarded for (``bot.ratelimit.client_address``)."""
    return limited_address(request)


class AppRestInput(InputChannel):
    """REST channel with customer tokens and input validation, configured in credentials.yml."""

    def __init__(self, tokens: CustomerTokens | None = None) -> None:
        self.tokens = tokens or CustomerTokens()

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(CustomerTokens(credentials.get("jwt_secret"), credentials.get("jwt_public_key"),
                                  credentials.get("jwt_audience"), credentials.get("jwt_issuer")))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("anxin_app_rest", __name__)
        by_address, by_customer = Limiter(settings.rate_limit("address")), Limiter(settings.rate_limit("customer"))

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/chat", methods=["GET"])
        async def chat_page(_: Request) -> HTTPResponse:
            return await response.file(CHAT_PAGE, mime_type="text/html; charset=utf-8")

        @webhook.route("/demo/customers", methods=["GET"])
        async def demo_customers(_: Request) -> HTTPResponse:
            if not settings.demo_mode():
                return response.json({"error": "not found"}, status=404)
            return response.json({"customers": demo.seeded(), "minutes": settings.demo_token_minutes()})

        @webhook.route("/demo/sign-in", methods=["POST"])
        async def demo_sign_in(request: Request) -> HTTPResponse:
            if not settings.demo_mode():
                return response.json({"error": "not found"}, status=404)
            if not by_address.hit(client_address(request)):
                return too_many(by_address, client_address(request))
            try:
                customer = json_object(request.body or b"", '{"customer_id": "demo-c3"}').get("customer_id")
            except InboundError as error:
                return refusal(error)
            if not isinstance(customer, str) or not demo.is_demo_customer(customer):
                return response.json({"error": '"customer_id" must be a demo customer id: demo-<letters, digits, ->'},
                                     status=400)
            minutes = settings.demo_token_minutes()
            try:
                token = self.tokens.issue(customer, minutes)
            except TokenError as error:  # only an RS256 key: tokens come from the app backend alone
                return response.json({"error": f"demo sign-in unavailable: {error}"}, status=503)
            return response.json({"token": token, "customer_id": customer, "expires_in": minutes * 60})

        @webhook.route("/report/<token>", methods=["GET"])
        async def report_page(request: Request, token: str) -> HTTPResponse:
            if not by_address.hit(client_address(request)):
                return too_many(by_address, client_address(request))
            return await report_pages.serve(request, token, pdf=False)

        @webhook.route("/report/<token>/pdf", methods=["GET"])
        async def report_pdf(request: Request, token: str) -> HTTPResponse:
            if not by_address.hit(client_address(request)):
                return too_many(by_address, client_address(request))
            return await report_pages.serve(request, token, pdf=True)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            address = client_address(request)
            try:
                customer = authenticate(self.tokens, request)
            except InboundError as error:
                # refused sign-ins count on their own, so guessing is bounded without spending the
                # budget of the signed-in customers behind the same address
                if not by_address.hit(f"unauthenticated:{address}"):
                    return too_many(by_address, f"unauthenticated:{address}")
                return refusal(error)
            if not by_address.hit(address):
                return too_many(by_address, address)
            try:
                if not by_customer.hit(customer):
                    return too_many(by_customer, customer)
                inbound = parse_body(request.body or b"", customer)
            except InboundError as error:
                return refusal(error)
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
