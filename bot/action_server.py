"""The action server: rasa-sdk's own server plus a start hook that loads the models.

Why not ``python -m rasa_sdk``: the knowledge-base encoder and index (and the emotion model)
take seconds to import and load. Loaded lazily inside the first request they would push that
request past the Rasa server's action timeout; loaded at import time of the actions package
they break Sanic's worker start-up (spawn vs fork, see shared/reference/runtime.md). A
``before_server_start`` listener runs inside the worker, before the port opens, so /health
answers only once everything is loaded and the first customer waits for nothing.

Observability (``bot.metrics``, ``bot.logs``): ``GET /metrics``, ``GET /health/live``,
``GET /health/ready`` (200 once the encoder, the knowledge index and the emotion head are
loaded), the time of each action, a request id per request (the Rasa server sends its turn's
``X-Request-Id``) and JSON logs (``ANXIN_LOG_FORMAT``), set up inside each worker process.

Trust (issue 23): the action server runs any action for any conversation it is sent, so it serves
only the project's Rasa servers. Before anything reads a body (``admit_request``): compressed
bodies and anything but ``Content-Type: application/json`` are refused (415; rasa-sdk would
inflate a deflate body without bound), bodies over ``MAX_BODY_BYTES`` are refused (413),
a call without a valid signature over its exact bytes (``bot.service_auth``, ``ANXIN_ACTION_SECRET``)
is refused (401), and only then is the body read: nested deeper than ``MAX_JSON_DEPTH``, not JSON
or not an action call is a 400, not a 500 (rasa-sdk's own error handler, which echoed the body
back, is replaced). Only ``/health``, ``/health/live``, ``/health/ready`` and
``/metrics`` are open. A watched action (customer data, money) is then checked against the
conversation the Rasa server stored and audited (``bot.conversation_check``; 403 when it does not
match). Every refusal is counted (``anxin_action_calls_refused_total``), logged and audited
(``action_refused``; at most ``REFUSED_AUDITS_PER_MINUTE`` records a minute per worker, so a
flood cannot flood the trail). No CORS headers: a browser page cannot call it. It binds
127.0.0.1 unless ``SANIC_HOST`` says otherwise (a container sets 0.0.0.0).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
import time
import warnings
from functools import partial

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app_for_serve, create_argument_parser
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.worker.loader import AppLoader

from bot import conversation_check, logs, metrics, service_auth, settings

logger = logging.getLogger(__name__)
PROCESS = "actions"
# What warm_up loaded in this process: the readiness check reports it.
LOADED = {"knowledge_base": False, "emotion_model": False}
# Open to anyone who reaches the port (probes, Prometheus; /metrics has its own token).
OPEN_PATHS = frozenset({"/health", "/health/live", "/health/ready", "/metrics"})
# A call carries the latest ANXIN_ACTION_TURNS turns and, once per worker, the 27 kB domain:
# tens of kB; 4 MiB leaves room for ANXIN_ACTION_TURNS=0 on a long conversation.
MAX_BODY_BYTES = 4 * 1024 * 1024
# A tracker is about eight levels deep (tracker, events, event, parse_data, entities, ...).
MAX_JSON_DEPTH = 64
REFUSED_AUDITS_PER_MINUTE = 60


def warm_up(*_: object) -> None:
    """Load every model the actions use, once per worker process."""
    from bot.emotion import classifier
    from bot.knowledge import retriever

    started = time.perf_counter()
    for name, load in (("knowledge_base", lambda: retriever.shared().answer("warm-up", "zh")),
                       ("emotion_model", lambda: classifier.shared().classify("warm-up"))):
        try:
            load()  # the knowledge base's first answer loads the encoder and the index
            LOADED[name] = True
        except (OSError, ValueError) as error:  # the actions degrade politely until it is built
            logger.error("%s not loaded: %s", name.replace("_", " "), error)
    logger.info("models loaded in %.1f s", time.perf_counter() - started)


def models_ready() -> tuple[bool, dict]:
    """Ready when the encoder, the knowledge index and the emotion head are loaded and valid
    compliance rules are in force (the actions audit under their version; the copilot checks
    drafts with them); the reply names that version."""
    from bot.compliance import rulebook

    version = rulebook.current().version  # raises with no valid rules: readiness reports the error
    return all(LOADED.values()), {"models": dict(LOADED), "rules_version": version}


class TimedActionExecutor(ActionExecutor):
    """rasa-sdk's executor, timing every action it runs (``anxin_action_seconds``). A subclass,
    not a wrapped method: the executor is pickled into each spawned worker."""

    async def run(self, action_call, *args, **kwargs):
        action = metrics.bounded((action_call or {}).get("next_action"), self.actions)
        started = time.perf_counter()
        try:
            if conversation_check.watched(action):
                # 449 first (the domain), so a call Rasa sends again with the domain is checked once
                self.update_and_return_domain(action_call, action)
                await asyncio.to_thread(conversation_check.admit, action_call)
            return await super().run(action_call, *args, **kwargs)
        finally:
            seconds = time.perf_counter() - started
            metrics.ACTION_SECONDS.labels(action).observe(seconds)
            logger.info("Action %s ran in %.3f s", action, seconds,
                        extra={"action": action, "seconds": round(seconds, 4)})


# rasa-sdk 3.21 serving Rasa 3.6 is the pairing shared/reference/runtime.md measured (rasa-sdk
# 3.6 does not run on Python 3.11). rasa-sdk warns about it on every action call, and with the
# library warning filters reset all the time (scikit-learn's) the warning became a masked JSON
# log record per call: a tenth of the action server's work under load (bench/load_profile.py).
PAIRED_VERSIONS = (r"Your versions of rasa and rasa_sdk might not be compatible\. "
                   r"You are currently running rasa version 3\.6\.\d+ and rasa_sdk version 3\.21\.")


def silence_paired_version_warning() -> None:
    """Ignore rasa-sdk's version warning for the measured pairing only (any other mismatch still
    warns), and say once, at start, which pairing runs."""
    warnings.filterwarnings("ignore", message=PAIRED_VERSIONS, category=UserWarning)
    import rasa_sdk

    logger.info("rasa-sdk %s serves Rasa 3.6 (the pairing of shared/reference/runtime.md); its "
                "per-call version warning is not logged", rasa_sdk.__version__)


_JSON_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST_PAIR = re.compile(rb"\[\]|\{\}")


def _deeper(skeleton: bytes, limit: int) -> bool:
    for _ in range(limit):  # each pass removes the innermost pairs: one level
        if not skeleton:
            return False
        skeleton = _INNERMOST_PAIR.sub(b"", skeleton)
    return bool(skeleton)


def nested_deeper_than(body: bytes, limit: int) -> bool:
    """Whether the JSON text ``body`` nests lists and objects more than ``limit`` deep, read from
    its brackets alone, at C speed (walking the parsed body cost a millisecond a call). First
    with every bracket kept (tens of microseconds); only when that looks too deep (a bracket
    inside a string can make it look so) again with the strings taken out. Run before parsing,
    so a deep body never reaches the parser's recursion."""
    if not _deeper(body.translate(None, _NOT_BRACKETS), limit):
        return False
    return _deeper(_JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS), limit)


class _RefusalAudit:
    """Audit records of refused calls, at most ``REFUSED_AUDITS_PER_MINUTE`` a minute in this
    worker: every refusal is still counted and logged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._minute, self._written = 0, 0

    def allowed(self) -> bool:
        with self._lock:
            minute = int(time.time() // 60)
            if minute != self._minute:
                self._minute, self._written = minute, 0
            self._written += 1
            return self._written <= REFUSED_AUDITS_PER_MINUTE

    def record(self, detail: str) -> None:
        from bot.compliance import audit

        if not self.allowed():
            return
        try:
            audit.record("unauthenticated-caller", "action_refused", detail=detail)
        except Exception as error:  # noqa: BLE001 - the refusal stands whether or not it is recorded
            logger.error("Refused action call not audited: %s", error)


def _refuse(request, status: int, reason: str, message: str, audit: _RefusalAudit):
    metrics.ACTION_CALLS_REFUSED.labels(reason).inc()
    client = request.remote_addr or request.ip
    logger.warning("Action call refused (%s): %s %s from %s", reason, request.method, request.path, client,
                   extra={"event": "action_call_refused", "reason": reason, "status": status})
    detail = f"refused: {reason} ({request.method} {request.path[:100]} from {client})"
    asyncio.get_running_loop().run_in_executor(None, audit.record, detail)
    return response.json({"error": message, "action_name": None}, status=status)


def install_service_auth(app: Sanic, secret: bytes) -> None:
    """Refuse every call but the Rasa servers' signed JSON ones (see the module docstring)."""
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    audit = _RefusalAudit()

    async def admit_request(request):
        if request.path in OPEN_PATHS or request.method == "OPTIONS":
            return None  # OPTIONS: rasa-sdk's CORS layer answers it empty, with no CORS headers here
        length = request.headers.get("content-length", "")
        if (length.isdigit() and int(length) > MAX_BODY_BYTES) or len(request.body or b"") > MAX_BODY_BYTES:
            # Sanic stops reading at REQUEST_MAX_SIZE and runs this middleware on its error path
            return _refuse(request, 413, "too_large", f"bodies are limited to {MAX_BODY_BYTES} bytes", audit)
        if request.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
            return _refuse(request, 415, "media_type", "compressed bodies are not accepted", audit)
        has_body = request.method not in ("GET", "HEAD")
        if has_body and (request.content_type or "").split(";")[0].strip().lower() != "application/json":
            return _refuse(request, 415, "media_type", "Content-Type must be application/json", audit)
        body = request.body or b""
        why = service_auth.refusal(secret, request.headers.get, request.method, request.path, body)
        if why:
            return _refuse(request, 401, why, "this server answers only the Anxin Rasa servers' signed calls",
                           audit)
        if has_body:
            if nested_deeper_than(body, MAX_JSON_DEPTH):
                return _refuse(request, 400, "bad_json", f"JSON nested more than {MAX_JSON_DEPTH} deep", audit)
            try:
                parsed = json.loads(body)
            except (ValueError, RecursionError):
                return _refuse(request, 400, "bad_json", "the body is not valid JSON", audit)
            if not isinstance(parsed, dict) or (request.path == "/webhook" and not (
                    isinstance(parsed.get("next_action"), str) and isinstance(parsed.get("tracker"), dict))):
                return _refuse(request, 400, "bad_json", "not an action call (next_action, tracker)", audit)
            request.parsed_json = parsed  # what rasa-sdk's handler reads as request.json
        return None

    async def refused_by_conversation(request, error: conversation_check.CallRefused):
        return response.json({"error": "the call does not match the stored conversation",
                              "action_name": error.action}, status=403)

    async def failed(request, error: Exception):
        """rasa-sdk's own handler echoes the body back and parses it again; this one does neither."""
        if isinstance(error, SanicException):  # 404, 405, 413 (REQUEST_MAX_SIZE), ...
            if error.status_code == 413:
                metrics.ACTION_CALLS_REFUSED.labels("too_large").inc()
            return response.json({"error": str(error) or type(error).__name__}, status=error.status_code)
        logger.error("Action call failed: %s %s", request.method, request.path, exc_info=error)
        return response.json({"error": "internal error"}, status=500)

    app.on_request(admit_request)
    app.error_handler.add(conversation_check.CallRefused, refused_by_conversation)
    app.error_handler.add(SanicException, failed)
    # replaces rasa-sdk's catch-all (Sanic refuses a second handler for one exception class)
    app.error_handler.cached_handlers[(Exception, None)] = failed


def create_app(action_executor: ActionExecutor, **options):
    logs.configure(PROCESS)  # runs in every worker process (spawned: nothing is inherited)
    silence_paired_version_warning()
    app = create_app_for_serve(action_executor, **options)
    logs.install_request_ids(app)
    metrics.add_routes(app, models_ready)
    install_service_auth(app, settings.action_secret())
    app.register_listener(warm_up, "before_server_start")
    return app


def main() -> None:
    args = create_argument_parser().parse_args()
    os.environ["LOG_LEVEL"] = logging.getLevelName(args.loglevel)  # the spawned workers read it
    if logs.log_format() == "text":
        utils.configure_colored_logging(args.loglevel)
    utils.update_sanic_log_level()
    logs.configure(PROCESS)
    try:
        settings.action_secret()  # checked before any worker starts: no secret, no server
    except RuntimeError as error:
        logger.critical("Refusing to start: %s", error, extra={"event": "action_secret_missing"})
        raise SystemExit(f"Refusing to start: {error}") from None
    executor = TimedActionExecutor()
    executor.register_package(args.actions_module or args.actions)
    # cors_origins=None whatever --cors says: only the Rasa servers call this server, never a browser
    loader = AppLoader(factory=partial(create_app, executor, cors_origins=None,
                                       auto_reload=args.auto_reload, endpoints=args.endpoints))
    app = loader.load()
    app.prepare(host=os.environ.get("SANIC_HOST", "127.0.0.1"), port=args.port,
                workers=utils.number_of_sanic_workers())
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
