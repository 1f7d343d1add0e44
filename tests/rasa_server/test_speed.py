"""The selective-domain protocol of bot/rasa_ext/speed.py against an action server that keeps
domains by digest, as rasa-sdk does: the first call carries only the digest and is answered 449,
so it is sent again with the domain; later calls carry only the digest and are answered at once.
A new domain (a new model) has a new digest and is sent again. Kept sessions reuse one client."""

import asyncio

from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from bot.rasa_ext import speed

DOMAIN = Domain.load("domain.yml")


class DigestKeepingActionServer:
    """Answers 449 to a call whose digest it does not know and that carries no domain."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.known: set[str] = set()

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(body)
        digest = body.get("domain_digest")
        if "domain" in body:
            self.known.add(digest)
        elif digest not in self.known:
            return web.json_response({"error": "send the domain"}, status=449)
        return web.json_response({"events": [], "responses": []})


async def exchange(domains: list[Domain]) -> tuple[DigestKeepingActionServer, list[dict]]:
    server = DigestKeepingActionServer()
    app = web.Application()
    app.router.add_post("/webhook", server.webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", enable_selective_domain=True)
        action = RemoteAction("action_check_balance", endpoint)
        tracker = DialogueStateTracker.from_events("c-speed", [UserUttered("查余额")])
        answers = []
        for domain in domains:
            body = action._action_call_format(tracker, domain)
            answers.append(await endpoint.request(json=body, method="post", timeout=5))
        return server, answers
    finally:
        await runner.cleanup()


def test_the_domain_is_sent_once_per_digest_and_the_call_retried_on_449():
    speed.install()
    other = Domain.from_dict({**DOMAIN.as_dict(), "intents": [*DOMAIN.as_dict()["intents"], "an_intent_added"]})
    server, answers = asyncio.run(exchange([DOMAIN, DOMAIN, DOMAIN, other]))
    assert answers == [{"events": [], "responses": []}] * 4
    with_domain = ["domain" in call for call in server.calls]
    assert with_domain == [False, True, False, False, False, True]  # 449, retried; known; known; new: 449, retried
    assert len({call["domain_digest"] for call in server.calls}) == 2
    assert server.calls[1]["domain"] == DOMAIN.as_dict()


def test_a_real_error_is_not_retried():
    speed.install()

    async def failing() -> int:
        app = web.Application()
        calls = []

        async def webhook(request: web.Request) -> web.Response:
            calls.append(await request.json())
            return web.json_response({"error": "boom"}, status=500)

        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", enable_selective_domain=True)
        action = RemoteAction("action_check_balance", endpoint)
        body = action._action_call_format(DialogueStateTracker.from_events("c-speed", []), DOMAIN)
        try:
            await endpoint.request(json=body, method="post", timeout=5)
        except ClientResponseError as error:
            assert error.status == 500
        finally:
            await runner.cleanup()
        return len(calls)

    assert asyncio.run(failing()) == 1
