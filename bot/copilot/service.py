"""The agent copilot server: an HTTP API for call-centre agents (token-authenticated) and its page.

    GET  /copilot                              the agent's page (asks for the token)
    POST /api/calls/<call_id>/utterances       {"text", "customer_id"?} -> every feature's result
    POST /api/drafts/check                     {"text", "customer_id"?} -> findings
    POST /api/feedback                         {"call_id", "turn_id", "kind", "verdict", "text"?}
    GET  /api/feedback/summary                 verdict counts per suggestion kind
    GET  /api/handoffs                         the bot's recent handoffs with their summaries

Runs in the actions environment (it needs the emotion model and the knowledge base) as its own
process, like the separate container it is in production; ``bot.servers`` starts it on
127.0.0.1. Every /api call needs ``Authorization: Bearer <ANXIN_COPILOT_TOKEN>``.
"""

from __future__ import annotations

import argparse
import hmac
import os
import re
from pathlib import Path

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import handoff, settings
from bot.channels.inbound import InboundError, clean_text, json_object
from bot.copilot import analysis, store
from bot.copilot.rasa_client import RasaClient

PAGE = Path(__file__).with_name("static") / "copilot.html"
CALL_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_BODY_BYTES = 64 * 1024


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


def create_app(token: str, rasa_url: str, rasa_token: str) -> Sanic:
    app = Sanic("anxin_copilot")
    rasa = RasaClient(rasa_url, rasa_token)

    @app.before_server_start
    async def warm_up(*_: object) -> None:
        from bot.action_server import warm_up as load_models
        load_models()

    @app.on_request
    async def authenticate(request: Request) -> HTTPResponse | None:
        if not request.path.startswith("/api/"):
            return None
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            return response.json({"error": "missing or wrong token (Authorization: Bearer <token>)"}, status=401)
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
        customer_id = _text(payload, "customer_id", required=False)
        return response.json(await analysis.analyse(rasa, call_id, text, customer_id))

    @app.post("/api/drafts/check")
    async def draft(request: Request) -> HTTPResponse:
        payload = _body(request)
        return response.json(analysis.check_draft(_text(payload), _text(payload, "customer_id", required=False)))

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
        agent = clean_text(request.headers.get("x-agent-id", "agent"))[:64] or "agent"
        feedback_id = store.add_feedback(call_id, turn_id, kind, verdict, agent, final_text)
        return response.json({"id": feedback_id}, status=201)

    @app.get("/api/feedback/summary")
    async def feedback_summary(_: Request) -> HTTPResponse:
        return response.json(store.feedback_counts())

    @app.get("/api/handoffs")
    async def handoffs(request: Request) -> HTTPResponse:
        limit = request.args.get("limit", "20")
        if not limit.isdigit():
            raise InboundError(400, '"limit" must be a whole number')
        limit = min(int(limit), 100)
        return response.json([{"id": h.id, "at": h.at.isoformat(), "customer": h.customer_id, "reason": h.reason,
                               "summary": h.summary} for h in handoff.recent(limit=limit)])

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Anxin agent copilot server.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ANXIN_COPILOT_PORT", 5077)))
    parser.add_argument("--rasa-url", default=os.environ.get("ANXIN_RASA_URL", "http://127.0.0.1:5005"))
    args = parser.parse_args()
    token = os.environ.get("ANXIN_COPILOT_TOKEN")
    if not token:
        raise SystemExit("set ANXIN_COPILOT_TOKEN (the agents' API token)")
    app = create_app(token, args.rasa_url, os.environ.get("ANXIN_API_TOKEN", ""))
    app.run(host=os.environ.get("SANIC_HOST", "127.0.0.1"), port=args.port, single_process=True,
            access_log=False, motd=False)


if __name__ == "__main__":
    main()
