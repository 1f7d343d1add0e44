"""The agent copilot server: an HTTP API for call-centre agents, each with a key of their own,
and its page.

    GET  /copilot                              the agent's page (asks for the agent key)
    POST /api/calls/<call_id>/utterances       {"text", "customer_id"?} -> every feature's result
    POST /api/drafts/check                     {"text", "customer_id"?} -> findings
    POST /api/feedback                         {"call_id", "turn_id", "kind", "verdict", "text"?}
    GET  /api/feedback/summary                 verdict counts per suggestion kind (supervisors)
    GET  /api/handoffs                         the bot's recent handoffs with their summaries
    GET  /api/me                               the agent the key belongs to (id, name, role)

Runs in the actions environment (it needs the emotion model and the knowledge base) as its own
process, like the separate container it is in production; ``bot.servers`` starts it on
127.0.0.1. Every /api call needs ``Authorization: Bearer <agent key>`` (``bot.copilot.agents``):
the agent id stored with turns and feedback is the key's, never a header's. Rate limits per
client address (``ANXIN_RATE_LIMIT_ADDRESS``, before the key is checked) and per agent
(``ANXIN_RATE_LIMIT_AGENT``) answer 429 with Retry-After.

Observability (``bot.metrics``, ``bot.logs``): ``GET /metrics``, ``GET /health/live``,
``GET /health/ready`` (200 once the encoder, the knowledge index and the emotion head are
loaded), a request id per request (``X-Request-Id``) and JSON logs (``ANXIN_LOG_FORMAT``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from pathlib import Path

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import handoff, logs, metrics, settings
from bot.advisory import reports
from bot.advisory.report_content import ReportBlocked
from bot.channels.inbound import InboundError, clean_text, json_object
from bot.console import routes as console
from bot.copilot import agents, analysis, customer_view, store
from bot.copilot.rasa_client import RasaClient
from bot.identity.tokens import CUSTOMER_ID, bearer
from bot.ratelimit import Limiter

PAGE = Path(__file__).with_name("static") / "copilot.html"
CALL_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_BODY_BYTES = 64 * 1024


def _in_thread(function, *args):
    return asyncio.get_running_loop().run_in_executor(None, function, *args)


def _body(request: Request) -> dict:
    raw = request.body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise InboundError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    return json_object(raw, '{"text": "...", ...}')


def _text(payload: dict, key: str = "text", required: bool = True) -> str | None:
    value = payload.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not clean_text(value):
        raise InboundError(400, f'"{key}" must be a non-empty string')
    value = clean_text(value)
    if len(value) > settings.max_message_chars():
        raise InboundError(413, f'"{key}" is longer than {settings.max_message_chars()} characters')
    return value


def _customer(payload: dict) -> str | None:
    value = payload.get("customer_id")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not CUSTOMER_ID.match(value):
        raise InboundError(400, '"customer_id", when given, must be 1-64 letters, digits or _.@-')
    return value


def _too_many(limiter: Limiter, key: str, who: str) -> HTTPResponse:
    metrics.RATE_LIMITED.labels("copilot").inc()
    wait = max(1, limiter.retry_after(key))
    return response.json({"error": f"too many requests from this {who}: limit {limiter.spec}; "
                                   f"retry in {wait} s"}, status=429, headers={"Retry-After": str(wait)})


def _unauthorized(message: str) -> HTTPResponse:
    return response.json({"error": message}, status=401, headers={"WWW-Authenticate": 'Bearer realm="anxin-copilot"'})


def create_app(rasa_url: str, rasa_token: str, agent_limit: Limiter | None = None,
               address_limit: Limiter | None = None) -> Sanic:
    app = Sanic("anxin_copilot")
    rasa = RasaClient(rasa_url, rasa_token)
    agent_limit = agent_limit or Limiter(settings.rate_limit("agent"))
    address_limit = address_limit or Limiter(settings.rate_limit("address"))
    logs.install_request_ids(app)  # first: answers of the checks below carry the id too

    def ready() -> tuple[bool, dict]:
        from bot.action_server import models_ready
        return models_ready()

    metrics.add_routes(app, ready)
    app.blueprint(console.blueprint())  # the compliance officers' console: /console, /console/api/...

    @app.before_server_start
    async def warm_up(*_: object) -> None:
        from bot.action_server import warm_up as load_models
        load_models()

    @app.on_request
    async def authenticate(request: Request) -> HTTPResponse | None:
        """Address limit, then the agent's key, then the agent's limit; the agent is request.ctx.agent."""
        if not request.path.startswith("/api/"):
            return None
        address = request.remote_addr or request.ip  # remote_addr: only from configured proxies
        if not address_limit.hit(address):
            return _too_many(address_limit, address, "address")
        found = await _in_thread(agents.authenticate, bearer(request.headers.get("authorization")))
        if found.agent is None:
            return _unauthorized(found.error)
        if not agent_limit.hit(found.agent.agent_id):
            return _too_many(agent_limit, found.agent.agent_id, "agent")
        request.ctx.agent = found.agent
        return None

    @app.exception(InboundError)
    async def bad_request(_: Request, error: InboundError) -> HTTPResponse:
        return response.json({"error": error.message}, status=error.status)

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/copilot")
    async def page(_: Request) -> HTTPResponse:
        return await response.file(PAGE, mime_type="text/html; charset=utf-8")

    @app.post("/api/calls/<call_id:str>/utterances")
    async def utterance(request: Request, call_id: str) -> HTTPResponse:
        if not CALL_ID.match(call_id):
            raise InboundError(400, "call id: 1-64 letters, digits or _.:-")
        payload = _body(request)
        text = _text(payload)
        customer_id = _customer(payload)
        with metrics.COPILOT_SECONDS.time():
            result = await analysis.analyse(rasa, call_id, text, customer_id, request.ctx.agent.agent_id)
        return response.json(result)

    @app.post("/api/drafts/check")
    async def draft(request: Request) -> HTTPResponse:
        payload = _body(request)
        return response.json(analysis.check_draft(_text(payload), _customer(payload)))

    @app.post("/api/feedback")
    async def feedback(request: Request) -> HTTPResponse:
        payload = _body(request)
        call_id, turn_id = payload.get("call_id"), payload.get("turn_id")
        kind, verdict = payload.get("kind"), payload.get("verdict")
        if not isinstance(call_id, str) or not CALL_ID.match(call_id) or not isinstance(turn_id, int):
            raise InboundError(400, '"call_id" (string) and "turn_id" (integer) are required')
        if kind not in store.SUGGESTION_KINDS or verdict not in store.VERDICTS:
            raise InboundError(400, f'"kind" must be one of {store.SUGGESTION_KINDS}, '
                                  f'"verdict" one of {store.VERDICTS}')
        if not store.turn_exists(call_id, turn_id):
            raise InboundError(404, "no such turn in this call")
        final_text = _text(payload, "text", required=verdict == "edited")
        agent = request.ctx.agent.agent_id  # from the key; an X-Agent-Id header is ignored
        feedback_id = store.add_feedback(call_id, turn_id, kind, verdict, agent, final_text)
        return response.json({"id": feedback_id, "agent": agent}, status=201)

    @app.get("/api/feedback/summary")
    async def feedback_summary(request: Request) -> HTTPResponse:
        if not request.ctx.agent.supervisor:
            return response.json({"error": "the feedback summary is for supervisors"}, status=403)
        return response.json(store.feedback_counts())

    @app.get("/api/customers/<customer_id:str>/advisory")
    async def customer_advisory(request: Request, customer_id: str) -> HTTPResponse:
        """Holdings, review flags and bookings of the customer on the line (bot.copilot.customer_view)."""
        if not CUSTOMER_ID.match(customer_id):
            raise InboundError(400, "customer id: 1-64 letters, digits or _.@-")
        language = "en" if request.args.get("language") == "en" else "zh"
        return response.json(await _in_thread(customer_view.advisory_view, customer_id, language))

    @app.post("/api/customers/<customer_id:str>/report")
    async def customer_report(request: Request, customer_id: str) -> HTTPResponse:
        """The customer's allocation report for the agent to open (the same signed, expiring link)."""
        if not CUSTOMER_ID.match(customer_id):
            raise InboundError(400, "customer id: 1-64 letters, digits or _.@-")
        try:
            made = await _in_thread(reports.create_report, customer_id, "zh")
        except ReportBlocked as blocked:
            return response.json({"error": f"the report did not pass the compliance guard: {blocked}"}, status=409)
        link = f"{settings.public_url()}/webhooks/rest/report/{made.token}"
        return response.json({"link": link, "pdf_link": f"{link}/pdf", "expires_at": made.expires_at.isoformat()},
                             status=201)

    @app.get("/api/me")
    async def me(request: Request) -> HTTPResponse:
        agent = request.ctx.agent
        return response.json({"agent_id": agent.agent_id, "name": agent.name, "role": agent.role})

    @app.get("/api/handoffs")
    async def handoffs(request: Request) -> HTTPResponse:
        limit = request.args.get("limit", "20")
        if not limit.isdigit():
            raise InboundError(400, '"limit" must be a whole number')
        limit = min(int(limit), 100)
        queue = handoff.recent(limit=limit)
        # Urgent first (a customer in crisis), then newest first.
        queue.sort(key=lambda h: not h.summary.get("urgent", False))
        return response.json([{"id": h.id, "at": h.at.isoformat(), "customer": h.customer_id, "reason": h.reason,
                               "urgent": bool(h.summary.get("urgent", False)), "summary": h.summary}
                              for h in queue])

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Anxin agent copilot server.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ANXIN_COPILOT_PORT", 5077)))
    parser.add_argument("--rasa-url", default=os.environ.get("ANXIN_RASA_URL", "http://127.0.0.1:5005"))
    args = parser.parse_args()
    demo_keys = os.environ.get(agents.DEMO_KEYS_ENV, "")
    if settings.demo_mode() and demo_keys:
        print(f"Demo mode: demo agents {', '.join(agents.ensure_demo_agents(demo_keys))} ready", file=sys.stderr)
    elif demo_keys:
        print(f"{agents.DEMO_KEYS_ENV} ignored: demo mode is off", file=sys.stderr)
    app = create_app(args.rasa_url, os.environ.get("ANXIN_API_TOKEN", ""))
    logs.configure("copilot")  # after the app: building it sets up Sanic's own console loggers
    app.run(host=os.environ.get("SANIC_HOST", "127.0.0.1"), port=args.port, single_process=True,
            access_log=False, motd=False)


if __name__ == "__main__":
    main()
