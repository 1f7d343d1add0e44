"""Entry point of the Rasa server: Rasa's own CLI with Anxin's server-side hooks installed:
the "service busy" fallback, action-response validation with a schema compiled once, the
compliance guard on every outgoing message, masking of personal numbers in logs, and
observability (``bot.metrics``, ``bot.logs``):

- ``GET /metrics`` (Prometheus), ``GET /health/live`` and ``GET /health/ready`` (a model is
  loaded and the compliance guard is in place; the reply names the compliance rules version in
  force) are added to the Sanic app Rasa builds (``rasa.core.run.configure_app`` is wrapped,
  so the app, its channels and Rasa's HTTP API are exactly Rasa's);
- the server refuses to start when, once the model is loaded, the compliance guard is not in
  place or no valid compliance rules are in force (``check_guard``): it exits non-zero before
  its port opens, rather than serve one unguarded message;
- every turn is timed by input channel and its intent counted (``Agent.handle_message`` and
  ``MessageProcessor._handle_message_with_tracker`` are wrapped), and logged in one line;
  a few turns are worked on at once, the others wait in arrival order (bot/rasa_ext/turn_gate.py,
  around ``MessageProcessor.handle_message``, inside the conversation's lock);
- every HTTP request has a request id (``X-Request-Id``), forwarded to the action server;
- the HTTP API's token is read from the environment (``ANXIN_API_TOKEN`` or the file named by
  ``ANXIN_API_TOKEN_FILE``), never from the command line where ``ps`` shows it, and is accepted
  only in a header (``Authorization: Bearer <token>``): a ``?token=`` in the address (which
  proxies and browsers log) is refused with 400 (``require_api_token``); with the API enabled
  and no token the server does not start;
- bodies larger than ``ANXIN_MAX_BODY_BYTES`` get 413 before they are read, JSON nested deeper
  than ``bot.channels.inbound.MAX_JSON_DEPTH`` gets 400 on every route, and every response
  carries the browser security headers (``bot.http_headers``);
- every call to the action server is signed with ``ANXIN_ACTION_SECRET`` (``bot.service_auth``,
  ``_sign_action_calls``); without that secret the server refuses to start;
- with ``ANXIN_LOG_FORMAT=json`` (default) Rasa's own log lines are JSON as well: its coloured
  console handler is replaced by the JSON one.

Use it exactly like ``rasa``: ``python -m bot.rasa_ext.server run --enable-api ...``.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import time
from typing import Any

from bot import http_headers, logs, metrics, settings
from bot.channels import inbound
from bot.compliance.masking import install_log_masking
from bot.rasa_ext import turn_gate

logger = logging.getLogger("bot.rasa_ext.turns")
guard_logger = logging.getLogger("bot.rasa_ext.server")  # not __name__: that is __main__ under -m
PROCESS = "rasa"
LOGGED_TEXT_CHARS = 200
_turn_intent: contextvars.ContextVar[str | None] = contextvars.ContextVar("anxin_turn_intent", default=None)


class GuardMissing(RuntimeError):
    """The Rasa server would serve messages that do not pass the compliance guard."""


def _ready(app: Any) -> tuple[bool, dict]:
    from bot.rasa_ext import compliance_hook

    agent = getattr(app.ctx, "agent", None)
    loaded = bool(agent is not None and agent.is_ready())
    guarded, guard = compliance_hook.status()
    model_id = getattr(agent, "model_id", None) if loaded else None
    return loaded and guarded, {"model_loaded": loaded, "model_id": model_id, "compliance_guard": guard}


def check_guard() -> None:
    """Raise ``GuardMissing`` unless the guard wraps the processor's send step and valid rules
    are in force. Run once the model is loaded (its components may patch Rasa too)."""
    from bot.rasa_ext import compliance_hook

    guarded, detail = compliance_hook.status()
    if not guarded:
        guard_logger.critical("Refusing to serve: the compliance guard is not in place (%s)", detail,
                              extra={"event": "guard_missing", "compliance_guard": detail})
        raise GuardMissing(f"the compliance guard is not in place, refusing to serve: {detail}")
    guard_logger.info("Compliance guard in place, rules version %s", detail["rules_version"],
                      extra={"event": "guard_checked", "rules_version": detail["rules_version"]})


def instrument_app(app: Any) -> Any:
    """Metrics, health, request ids, body limits and security headers on the Rasa server's Sanic app."""
    from sanic.exceptions import PayloadTooLarge

    logs.install_request_ids(app)
    metrics.add_routes(app, lambda: _ready(app))
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes()
    app.error_handler.add(PayloadTooLarge, _too_large)
    app.register_middleware(_refuse_deep_json, "request")
    http_headers.install(app)
    return app


def _too_large(_request: Any, _error: Exception) -> Any:
    """Sanic's 413, in the channels' JSON shape (``{"error": ...}``)."""
    from sanic import response

    return response.json({"error": f"request body too long: the limit is {settings.max_body_bytes()} bytes"},
                         status=413)


async def _refuse_deep_json(request: Any) -> Any:
    """400 for a JSON body nested deeper than any client of ours sends, on every route (Rasa's
    HTTP API included), instead of the parser's RecursionError as a 500."""
    from sanic import response

    body = request.body or b""
    if not body or body.lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        too_deep = inbound.depth(json.loads(body)) > inbound.MAX_JSON_DEPTH
    except RecursionError:
        too_deep = True
    except ValueError:  # not JSON after all: the route answers as it would
        return None
    if too_deep:
        return response.json({"error": f"JSON nested too deeply (at most {inbound.MAX_JSON_DEPTH} levels)"},
                             status=400)
    return None


def _bearer(header: str | None) -> str:
    scheme, _, value = (header or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def require_api_token() -> None:
    """Rasa's HTTP API takes its token from ``?token=`` only; here it is taken from the
    ``Authorization: Bearer`` header instead, and a token in the address is refused (400), so it
    never lands in a proxy's or a browser's log. JWT (Rasa's ``--jwt-secret``) still works as Rasa
    has it. Installed before Rasa builds its app (``create_app`` decorates its routes then)."""
    import hmac
    from functools import wraps
    from inspect import isawaitable

    import rasa.server
    from rasa.server import ErrorResponse

    if getattr(rasa.server.requires_auth, "_anxin", False):
        return
    rasa_requires_auth = rasa.server.requires_auth

    def requires_auth(app: Any, token: str | None = None):
        rasa_decorator = rasa_requires_auth(app, token)

        def decorator(handler):
            by_rasa = rasa_decorator(handler)

            @wraps(handler)
            async def decorated(request: Any, *args: Any, **kwargs: Any):
                if "token" in request.args:
                    raise ErrorResponse(400, "TokenInAddress", "The API token goes in the Authorization header "
                                        "(Bearer), never in the address: addresses are logged.")
                given = _bearer(request.headers.get("authorization"))
                if token and given and hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
                    result = handler(request, *args, **kwargs)
                    return await result if isawaitable(result) else result
                return await by_rasa(request, *args, **kwargs)  # JWT when configured, else 401

            return decorated

        return decorator

    requires_auth._anxin = True  # type: ignore[attr-defined]
    rasa.server.requires_auth = requires_auth


def _api_token_from_environment(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """``configure_app``'s arguments with the API token from the environment (the third
    positional argument, or ``auth_token``); with the API on and no token: RuntimeError."""
    token = settings.api_token()
    args = list(args)
    if len(args) >= 3:
        token = token or args[2]
        args[2] = token
    else:
        token = token or kwargs.get("auth_token")
        kwargs["auth_token"] = token
    enable_api = args[3] if len(args) >= 4 else kwargs.get("enable_api", True)
    if enable_api and not token:
        raise RuntimeError("the HTTP API is enabled but has no token: set ANXIN_API_TOKEN (or ANXIN_API_TOKEN_FILE)")
    return tuple(args), kwargs


def _instrument_configure_app() -> None:
    from rasa.core import run

    if getattr(run.configure_app, "_anxin", False):
        return
    original = run.configure_app

    def configure_app(*args: Any, **kwargs: Any):
        args, kwargs = _api_token_from_environment(args, kwargs)
        app = instrument_app(original(*args, **kwargs))
        logs.configure(PROCESS)  # again: Rasa may have added handlers while building the app
        return app

    configure_app._anxin = True  # type: ignore[attr-defined]
    run.configure_app = configure_app


def _check_guard_after_model_load() -> None:
    """Rasa loads the model in a ``before_server_start`` listener (``load_agent_on_start``); the
    check runs right after it, still before the port opens, and its exception stops the start."""
    from rasa.core import run

    if getattr(run.load_agent_on_start, "_anxin", False):
        return
    original = run.load_agent_on_start

    async def load_agent_on_start(*args: Any, **kwargs: Any):
        agent = await original(*args, **kwargs)
        check_guard()
        return agent

    load_agent_on_start._anxin = True  # type: ignore[attr-defined]
    run.load_agent_on_start = load_agent_on_start


def _instrument_turns() -> None:
    from rasa.core.agent import Agent
    from rasa.core.processor import MessageProcessor

    if getattr(Agent.handle_message, "_anxin", False):
        return
    handle_message = Agent.handle_message
    handle_with_tracker = MessageProcessor._handle_message_with_tracker
    process_message = MessageProcessor.handle_message
    at_once = settings.turns_at_once()

    async def timed_handle_message(self: Agent, message: Any):
        channel = metrics.channel(message.input_channel)
        _turn_intent.set(None)
        started = time.perf_counter()
        outcome = "answered"
        try:
            return await handle_message(self, message)
        except BaseException:
            outcome = "failed"
            metrics.TURN_FAILURES.labels(channel).inc()
            raise
        finally:
            seconds = time.perf_counter() - started
            metrics.TURN_SECONDS.labels(channel).observe(seconds)
            text = (message.text or "")[:LOGGED_TEXT_CHARS].replace("\n", " ")
            logger.info("Turn %s on %s for %s in %.3f s, intent %s: %s", outcome, message.input_channel,
                        message.sender_id, seconds, _turn_intent.get(), text,
                        extra={"channel": channel, "seconds": round(seconds, 4), "intent": _turn_intent.get()})

    async def admitted_handle_message(self: MessageProcessor, message: Any) -> Any:
        # inside the conversation's lock (Agent.handle_message takes it): a turn waiting for its
        # conversation holds no place at the gate
        async with turn_gate.admitted(at_once):
            return await process_message(self, message)

    async def counted_handle_with_tracker(self: MessageProcessor, message: Any, tracker: Any) -> None:
        await handle_with_tracker(self, message, tracker)
        latest = tracker.latest_message
        name = (latest.intent or {}).get("name") if latest is not None else None
        if name:
            _turn_intent.set(name)
            metrics.INTENTS.labels(metrics.bounded(name, self.domain.intents)).inc()

    timed_handle_message._anxin = True  # type: ignore[attr-defined]
    Agent.handle_message = timed_handle_message  # type: ignore[method-assign]
    MessageProcessor._handle_message_with_tracker = counted_handle_with_tracker  # type: ignore[method-assign]
    MessageProcessor.handle_message = admitted_handle_message  # type: ignore[method-assign]


def _forward_request_ids() -> None:
    """Calls to the action server (and other endpoints) carry the turn's X-Request-Id."""
    from rasa.utils.endpoints import EndpointConfig

    if getattr(EndpointConfig.request, "_anxin", False):
        return
    original = EndpointConfig.request

    async def request(self: EndpointConfig, *args: Any, **kwargs: Any):
        current = logs.request_id()
        if current:
            kwargs["headers"] = {logs.HEADER: current, **(kwargs.get("headers") or {})}
        return await original(self, *args, **kwargs)

    request._anxin = True  # type: ignore[attr-defined]
    EndpointConfig.request = request  # type: ignore[method-assign]


def _sign_action_calls() -> None:
    """Every call the Rasa server makes through ``EndpointConfig.request`` (the action server is
    the only HTTP endpoint in endpoints.yml) is signed with ``ANXIN_ACTION_SECRET``
    (``bot.service_auth``); the action server refuses unsigned calls.

    Patch of Rasa 3.6.21's ``rasa.utils.endpoints.EndpointConfig.request`` (signature
    ``request(self, method="post", subpath=None, content_type="application/json", compress=False,
    **kwargs)``, body as ``json=`` or ``data=``). Installed innermost, before ``speed.install``
    wraps it, so it signs the bytes speed's body splicing produced, and its domain retry is signed
    anew. The body is encoded here (``json.dumps``, as aiohttp's ``json=``) and sent as ``data=``,
    the very bytes signed; ``compress`` (``COMPRESS_ACTION_SERVER_REQUEST``) is ignored: the action
    server refuses compressed bodies."""
    from rasa.utils.endpoints import EndpointConfig

    if getattr(EndpointConfig.request, "_anxin_signed", False):
        return
    if getattr(EndpointConfig.request, "_anxin_speed", False):  # above speed, its 449 retry would break
        raise RuntimeError("action-call signing must be installed before bot.rasa_ext.speed")
    EndpointConfig.request = signed_request(EndpointConfig.request, settings.action_secret())  # type: ignore[method-assign]


def signed_request(original: Any, secret: bytes) -> Any:
    """``EndpointConfig.request`` around ``original``, signing each call with ``secret``."""
    import json
    from urllib.parse import urlsplit

    from rasa.utils.endpoints import concat_url

    from bot import service_auth

    async def request(self: Any, method: str = "post", subpath: str | None = None,
                      content_type: str | None = "application/json", compress: bool = False, **kwargs: Any):
        if "json" in kwargs:
            body = json.dumps(kwargs.pop("json")).encode("utf-8")
        else:
            body = kwargs.pop("data", None) or b""
            body = body.encode("utf-8") if isinstance(body, str) else body
        if not isinstance(body, bytes):
            raise TypeError(f"cannot sign a {type(body).__name__} body")
        path = urlsplit(concat_url(self.url, subpath)).path or "/"
        headers = {**(kwargs.pop("headers", None) or {}), **service_auth.sign(secret, method, path, body)}
        return await original(self, method, subpath, content_type, compress=False, data=body, headers=headers,
                              **kwargs)

    request._anxin_signed = True  # type: ignore[attr-defined]
    request.original = original  # type: ignore[attr-defined]
    return request


def _json_console_logging() -> None:
    """Rasa's CLI installs coloured console logging after parsing its arguments; in JSON mode it
    sets the level the same way and keeps the JSON handler instead."""
    import rasa.utils.io

    def configure_logging(loglevel: Any = None) -> None:
        logging.getLogger().setLevel(loglevel or os.environ.get("LOG_LEVEL") or "INFO")
        logs.configure(PROCESS)

    rasa.utils.io.configure_colored_logging = configure_logging


def main() -> None:
    fmt = logs.log_format()
    logs.configure(PROCESS, fmt)  # first: warnings raised while Rasa is imported are records too
    if fmt == "json":  # TensorFlow's C++ INFO/WARNING lines bypass logging (Rasa sets the same, later)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from bot.rasa_ext import action_fallback, action_validation, processor_patches, speed

    try:
        _sign_action_calls()  # first: innermost under speed's and the request ids' wrappers
    except RuntimeError as error:  # no ANXIN_ACTION_SECRET: refuse to start rather than call unsigned
        guard_logger.critical("Refusing to start: %s", error, extra={"event": "action_secret_missing"})
        raise SystemExit(f"Refusing to start: {error}") from None
    speed.install()  # selective domain, kept action-server connections (bot/rasa_ext/speed.py)
    action_fallback.install()
    action_validation.install()
    processor_patches.install()
    if fmt == "json":
        # jieba (the Chinese tokenizer) adds a console handler of its own when imported, during the
        # model load; imported now, configure() routes it through the JSON handler instead.
        import jieba  # noqa: F401

        _json_console_logging()
        logs.configure(PROCESS, fmt)
    install_log_masking()
    require_api_token()
    _instrument_configure_app()
    _check_guard_after_model_load()
    _instrument_turns()
    _forward_request_ids()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
