"""The agent copilot server: an HTTP API for call-centre agents, each with a key of their own,
and its page.

    GET  /copilot                              the agent's page (asks for the agent key)
    POST /api/calls/<call_id>/utterances       {"text", "customer_id"?} -> every feature's result
    POST /api/drafts/check                     {"text", "customer_id"?} -> findings
    POST /api/feedback                         {"call_id", "turn_id", "kind", "verdict", "text"?}
    GET  /api/feedback/summary                 verdict counts per suggestion kind (supervisors)
    GET  /api/handoffs                         the team's queue (no customer, no summary)
    GET  /api/handoffs/<id>                    one handoff with its summary (scoped, audited)
    POST /api/handoffs/<id>/claim              take it: the agent now handles that customer (audited)
    POST /api/handoffs/<id>/assign {"agent_id"}  a supervisor gives it to an agent of the team
    POST /api/handoffs/<id>/release            done with it: the agent's access to the customer ends
    POST /api/break-glass {"customer_id", "reason"}  time-limited access to another customer (audited)
    GET  /api/access                           the customers the agent may open now, and why
    GET  /api/customers/<id>/advisory          holdings, review flags, bookings (scoped, audited)
    POST /api/customers/<id>/report            a short-lived report link (scoped, audited)
    GET  /api/me                               the agent the key belongs to (id, name, role, team)

Scope (``bot.copilot.scope``): whatever names a customer (the utterance's and the draft's
``customer_id`` too) is answered only while the agent handles that customer (a claimed or
assigned handoff) or holds break-glass access with a reason; else 403 with the reason, no data.
Every answer that shows a customer is audited first (``bot.copilot.access``); no record, no
answer (503). A call belongs to the agent who started it.

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
import functools
import os
import re
import sys
from datetime import timedelta
from pathlib import Path

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import handoff, http_headers, logs, metrics, settings
from bot.advisory import reports
from bot.advisory.report_content import ReportBlocked
from bot.channels.inbound import InboundError, clean_text, json_object
from bot.compliance import audit
from bot.console import routes as console
from bot.copilot import access, agents, analysis, customer_view, scope, store
from bot.copilot.rasa_client import RasaClient
from bot.identity.tokens import CUSTOMER_ID, bearer
from bot.ratelimit import Limiter, client_address

PAGE = Path(__file__).with_name("static") / "copilot.html"
CALL_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}\Z")
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
    http_headers.install(app)  # CSP, X-Frame-Options, Referrer-Policy, nosniff on every page and answer

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
        # the client behind a trusted proxy (ANXIN_TRUSTED_PROXIES); refused keys count on their
        # own, so guessing is bounded without spending the budget of a call centre's agents who
        # share one address
        address = client_address(request)
        found = await _in_thread(agents.authenticate, bearer(request.headers.get("authorization")))
        if found.agent is None:
            if not address_limit.hit(f"unauthenticated:{address}"):
                return _too_many(address_limit, address, "address")
            return _unauthorized(found.error)
        if not address_limit.hit(address):
            return _too_many(address_limit, address, "address")
        if not agent_limit.hit(found.agent.agent_id):
            return _too_many(agent_limit, found.agent.agent_id, "agent")
        request.ctx.agent = found.agent
        return None

    @app.exception(InboundError)
    async def bad_request(_: Request, error: InboundError) -> HTTPResponse:
        return response.json({"error": error.message}, status=error.status)

    @app.exception(scope.ScopeError)
    async def out_of_scope(_: Request, error: scope.ScopeError) -> HTTPResponse:
        message = analysis.texts()["scope"][error.reason].format(**error.values)
        return response.json({"error": message, "reason": error.reason}, status=error.status)

    @app.exception(access.NotAudited)
    async def not_audited(_: Request, error: access.NotAudited) -> HTTPResponse:
        return response.json({"error": analysis.texts()["scope"]["not_audited"], "reason": "not_audited"},
                             status=503)

    async def grant_for(request: Request, customer_id: str) -> scope.Grant:
        """The grant under which this agent may see the customer, else 403 (ScopeError)."""
        return await _in_thread(scope.customer_grant, request.ctx.agent, customer_id)

    async def audited(request: Request, customer_id: str, what: str, why: str,
                      customer_ref: str | None | object = audit.FROM_ID) -> None:
        await _in_thread(access.record, request.ctx.agent, customer_id, what, why, customer_ref)

    async def own_call(request: Request, call_id: str) -> None:
        """A call's turns (its emotion trend) and feedback belong to the agent who started it."""
        owner = await _in_thread(store.call_agent, call_id)
        if owner is not None and owner != request.ctx.agent.agent_id:
            raise scope.ScopeError(403, "call_of_another_agent", call=call_id)

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
        await own_call(request, call_id)
        grant = await grant_for(request, customer_id) if customer_id else None
        with metrics.COPILOT_SECONDS.time():
            result = await analysis.analyse(rasa, call_id, text, customer_id, request.ctx.agent.agent_id)
        if grant is not None:  # the rehearsed reply answers from the customer's data, the alerts name their level
            await audited(request, customer_id, f"the bot's rehearsed reply and alerts (call {call_id}, "
                                                f"turn {result['turn_id']})", grant.why())
        return response.json(result)

    @app.post("/api/drafts/check")
    async def draft(request: Request) -> HTTPResponse:
        payload = _body(request)
        text, customer_id = _text(payload), _customer(payload)
        grant = await grant_for(request, customer_id) if customer_id else None
        checked = analysis.check_draft(text, customer_id)
        if grant is not None:  # a finding may name the customer's risk level
            await audited(request, customer_id, "risk level (draft check)", grant.why())
        return response.json(checked)

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
        await own_call(request, call_id)
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
        grant = await grant_for(request, customer_id)
        view = await _in_thread(customer_view.advisory_view, customer_id, language)
        await audited(request, customer_id, "holdings, review flags and bookings", grant.why())
        return response.json(view)

    @app.post("/api/customers/<customer_id:str>/report")
    async def customer_report(request: Request, customer_id: str) -> HTTPResponse:
        """The customer's allocation report for the agent to open: a signed link that lasts the
        call (``ANXIN_AGENT_REPORT_LINK_MINUTES``), not the customer's days."""
        if not CUSTOMER_ID.match(customer_id):
            raise InboundError(400, "customer id: 1-64 letters, digits or _.@-")
        grant = await grant_for(request, customer_id)
        lifetime = timedelta(minutes=settings.agent_report_link_minutes())
        try:
            made = await _in_thread(functools.partial(reports.create_report, customer_id, "zh", lifetime=lifetime))
        except ReportBlocked as blocked:
            return response.json({"error": f"the report did not pass the compliance guard: {blocked}"}, status=409)
        await audited(request, customer_id, f"allocation report link (expires {made.expires_at.isoformat()})",
                      grant.why())
        link = f"{settings.public_url()}/webhooks/rest/report/{made.token}"
        return response.json({"link": link, "pdf_link": f"{link}/pdf", "expires_at": made.expires_at.isoformat()},
                             status=201)

    @app.get("/api/me")
    async def me(request: Request) -> HTTPResponse:
        agent = request.ctx.agent
        return response.json({"agent_id": agent.agent_id, "name": agent.name, "role": agent.role, "team": agent.team})

    @app.get("/api/handoffs")
    async def handoffs(request: Request) -> HTTPResponse:
        limit = request.args.get("limit", "20")
        if not limit.isdigit():
            raise InboundError(400, '"limit" must be a whole number')
        limit = min(int(limit), 100)
        agent = request.ctx.agent
        queue = await _in_thread(functools.partial(handoff.recent, limit=limit, team=agent.team))
        held = await _in_thread(scope.holders, [h.id for h in queue])
        queue = [h for h in queue if scope.queue_visible(agent, h, held.get(h.id))]
        queue.sort(key=lambda h: not h.urgent)  # urgent first (a customer in crisis), then newest first
        # No customer and no summary here: those are read one handoff at a time, in scope and audited.
        return response.json([{"id": h.id, "at": h.at.isoformat(), "reason": h.reason, "urgent": h.urgent,
                               "language": h.summary.get("language"), "team": h.team,
                               "handled_by": held[h.id].agent if h.id in held else None,
                               "mine": h.id in held and held[h.id].agent == agent.agent_id}
                              for h in queue])

    def _detail(found: handoff.Handoff) -> dict:
        return {"id": found.id, "at": found.at.isoformat(), "customer": found.customer_id, "reason": found.reason,
                "urgent": found.urgent, "team": found.team, "summary": found.summary}

    async def _found(handoff_id: int) -> handoff.Handoff:
        found = await _in_thread(handoff.get, handoff_id)
        if found is None:  # answered as one that is not yours: no telling which ids exist
            raise scope.not_yours(handoff_id)
        return found

    @app.get("/api/handoffs/<handoff_id:int>")
    async def handoff_detail(request: Request, handoff_id: int) -> HTTPResponse:
        found = await _found(handoff_id)
        why = await _in_thread(scope.handoff_reader, request.ctx.agent, found)
        await audited(request, found.customer_id, f"handoff #{found.id} summary", why, found.customer_ref)
        return response.json(_detail(found))

    @app.post("/api/handoffs/<handoff_id:int>/claim")
    async def handoff_claim(request: Request, handoff_id: int) -> HTTPResponse:
        grant, found = await _in_thread(scope.claim, request.ctx.agent, handoff_id)
        await audited(request, found.customer_id, f"handoff #{found.id} summary (claimed)", grant.why(),
                      found.customer_ref)
        return response.json({**grant.as_dict(), "call_id": f"handoff-{found.id}-{grant.id}",
                              "handoff": _detail(found)}, status=201)

    @app.post("/api/handoffs/<handoff_id:int>/assign")
    async def handoff_assign(request: Request, handoff_id: int) -> HTTPResponse:
        target = _body(request).get("agent_id")
        grant, _ = await _in_thread(scope.assign, request.ctx.agent, handoff_id, target)
        return response.json({"grant_id": grant.id, "handoff_id": handoff_id, "agent": grant.agent,
                              "expires_at": grant.expires_at.isoformat()}, status=201)

    @app.post("/api/handoffs/<handoff_id:int>/release")
    async def handoff_release(request: Request, handoff_id: int) -> HTTPResponse:
        return response.json({"released": await _in_thread(scope.release, request.ctx.agent, handoff_id)})

    @app.post("/api/break-glass")
    async def break_glass(request: Request) -> HTTPResponse:
        """Access to a customer the agent is not handling: a reason in words, audited, time-limited."""
        payload = _body(request)
        customer_id = _customer(payload)
        if customer_id is None:
            raise InboundError(400, '"customer_id" is required')
        grant = await _in_thread(scope.break_glass, request.ctx.agent, customer_id, payload.get("reason"))
        try:
            await _in_thread(access.record_break_glass, request.ctx.agent, grant)
        except access.NotAudited:
            await _in_thread(scope.end, grant.id)  # unaudited access is no access
            raise
        return response.json(grant.as_dict(), status=201)

    @app.get("/api/access")
    async def my_access(request: Request) -> HTTPResponse:
        return response.json([g.as_dict() for g in await _in_thread(scope.mine, request.ctx.agent.agent_id)])

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
