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
- with ``ANXIN_LOG_FORMAT=json`` (default) Rasa's own log lines are JSON as well: its coloured
  console handler is replaced by the JSON one.

Use it exactly like ``rasa``: ``python -m bot.rasa_ext.server run --enable-api ...``.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import time
from typing import Any

from bot import logs, metrics, settings
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
    """Metrics, health and request ids on the Rasa server's Sanic app."""
    logs.install_request_ids(app)
    metrics.add_routes(app, lambda: _ready(app))
    return app


def _instrument_configure_app() -> None:
    from rasa.core import run

    if getattr(run.configure_app, "_anxin", False):
        return
    original = run.configure_app

    def configure_app(*args: Any, **kwargs: Any):
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
    _instrument_configure_app()
    _check_guard_after_model_load()
    _instrument_turns()
    _forward_request_ids()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
