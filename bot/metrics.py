"""Prometheus metrics of the Anxin servers, defined in one place (prometheus-client).

Each process (the Rasa server, the action server, the copilot) counts what happens inside it
and serves its own ``/metrics``; Prometheus scrapes all replicas and the dashboard
(``deploy/grafana/anxin-dashboard.json``) adds them up. Which process counts what:

- Rasa server: turns and their latency by channel, intents, guard blocks, action failures
  (errors and time-outs of the action server, seen from the caller), WeChat deliveries, rate limits;
- action server: emotions (where the sensing action classifies), handoffs, knowledge refusals,
  time spent per action;
- copilot: the time of one utterance's analysis, rate limits;
- any process that runs the compliance guard: time-outs of rule patterns.

Labels take values from short fixed lists (channels, emotions, reasons) or from the model's
own names (intents, actions); anything else is counted as ``other`` so that a client cannot
create series at will. With several worker processes per server, set
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode) before the server starts:
``/metrics`` then reports the sum over the workers.

``/metrics`` tells how busy the bank is and which intents customers have, so it is not public:
it answers only ``Authorization: Bearer <ANXIN_METRICS_TOKEN>`` (Prometheus: ``authorization:
credentials_file``); without the token configured it answers 403 to everyone.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest

OTHER = "other"
CHANNELS = ("rest", "socketio", "wechat", "copilot")
EMOTIONS = ("calm", "anxious", "angry", "distressed")
HANDOFF_REASONS = ("complaint", "asked", "emotion", "offer_accepted")
REFUSAL_REASONS = ("weak_evidence", "unavailable")
FAILURE_KINDS = ("error", "timeout")
DELIVERY_MODES = ("passive", "async")
WECHAT_REFUSALS = ("signature", "plaintext", "stale", "replay", "malformed", "oversize")
# Seconds: WeChat's passive window is 4.5 s and the action time-out 8 s, so both are edges.
TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.5, 6.0, 8.0, 12.0, 20.0, 30.0)
ACTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)

TURN_SECONDS = Histogram(
    "anxin_turn_seconds",
    "Time of one customer turn in the Rasa server (lock, NLU, actions, guard), by input channel.",
    ["channel"], buckets=TURN_BUCKETS)
TURN_FAILURES = Counter(
    "anxin_turn_failures_total",
    "Turns whose dialogue raised instead of answering, by input channel.",
    ["channel"])
INTENTS = Counter(
    "anxin_intents_total",
    "Customer messages by the intent the NLU pipeline gave them.",
    ["intent"])
EMOTIONS_SENSED = Counter(
    "anxin_emotions_total",
    "Customer messages by the emotion the sensing action classified (action server).",
    ["emotion"])
HANDOFFS = Counter(
    "anxin_handoffs_total",
    "Conversations handed to a person, by reason (complaint, asked, emotion, offer_accepted).",
    ["reason"])
GUARD_BLOCKS = Counter(
    "anxin_guard_blocks_total",
    "Outgoing bot messages the compliance guard replaced with its blocked reply.")
RULE_PATTERN_TIMEOUTS = Counter(
    "anxin_rule_pattern_timeouts_total",
    "Searches of a compliance rule pattern that ran out of time (bot/compliance/pattern_safety.py); "
    "the message was held as if the pattern had matched.")
KNOWLEDGE_REFUSALS = Counter(
    "anxin_knowledge_refusals_total",
    "Knowledge questions answered with 'no reliable answer' (weak evidence, or the index unavailable).",
    ["reason"])
ACTION_FAILURES = Counter(
    "anxin_action_failures_total",
    "Custom action calls that failed (kind=error) or outlived ANXIN_ACTION_TIMEOUT (kind=timeout).",
    ["action", "kind"])
ACTION_SECONDS = Histogram(
    "anxin_action_seconds",
    "Time the action server spent running one custom action, by action.",
    ["action"], buckets=ACTION_BUCKETS)
WECHAT_DELIVERIES = Counter(
    "anxin_wechat_deliveries_total",
    "WeChat turns answered in the callback's reply (passive) or later through the customer-service API (async).",
    ["mode"])
WECHAT_REFUSED = Counter(
    "anxin_wechat_refused_total",
    "WeChat callbacks refused, by reason: signature (forged), plaintext (secure mode downgraded), "
    "stale (timestamp outside the window), replay (a copy), malformed, oversize.",
    ["reason"])
ACTION_CALLS_REFUSED = Counter(
    "anxin_action_calls_refused_total",
    "Calls the action server refused, by reason: unsigned, bad_timestamp, stale_timestamp, bad_signature "
    "(401), media_type (415: not JSON, or compressed), bad_json (400: malformed or nested too deep), "
    "too_large (413), tracker_mismatch (403: not the stored conversation, bot/conversation_check.py).",
    ["reason"])
RATE_LIMITED = Counter(
    "anxin_rate_limited_total",
    "Requests refused by a rate limit, by channel (rest, wechat, copilot).",
    ["channel"])
COPILOT_SECONDS = Histogram(
    "anxin_copilot_analysis_seconds",
    "Time of the copilot's analysis of one customer utterance (intent, emotion, bot reply, knowledge).",
    buckets=TURN_BUCKETS)

ALL = (TURN_SECONDS, TURN_FAILURES, INTENTS, EMOTIONS_SENSED, HANDOFFS, GUARD_BLOCKS, RULE_PATTERN_TIMEOUTS,
       KNOWLEDGE_REFUSALS,
       ACTION_FAILURES, ACTION_SECONDS, WECHAT_DELIVERIES, WECHAT_REFUSED,
       ACTION_CALLS_REFUSED, RATE_LIMITED, COPILOT_SECONDS)


def bounded(value: object, allowed: Iterable[str]) -> str:
    """``value`` when it is one of ``allowed``, else ``other``: label values stay a short list."""
    return value if isinstance(value, str) and value in allowed else OTHER


def channel(name: object) -> str:
    return bounded(name, CHANNELS)


def exposition() -> bytes:
    """The text format of every metric of this process (of all its workers in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def scrape_allowed(authorization: str | None) -> bool:
    """Whether the ``Authorization`` header carries ``ANXIN_METRICS_TOKEN`` (never when it is unset)."""
    expected = os.environ.get("ANXIN_METRICS_TOKEN", "")
    scheme, _, given = (authorization or "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8"), expected.encode("utf-8"))


def add_routes(app, ready: Callable[[], tuple[bool, dict]]) -> None:
    """Serve ``GET /metrics``, ``GET /health/live`` and ``GET /health/ready`` on a Sanic app.

    ``ready()`` says whether the process can serve, with details for the reply; readiness is
    503 until it can. Liveness is 200 whenever the process answers at all. Works with the
    Rasa server's Sanic 21 and the actions environment's Sanic 25.
    """
    from sanic import response

    async def metrics(request):
        if not scrape_allowed(request.headers.get("authorization")):
            return response.json({"error": "metrics need Authorization: Bearer <ANXIN_METRICS_TOKEN>"}, status=403)
        return response.raw(exposition(), content_type=CONTENT_TYPE_LATEST)

    async def live(_request):
        return response.json({"status": "alive"})

    async def readiness(_request):
        try:
            ok, detail = ready()
        except Exception as error:  # noqa: BLE001 - a failing check means "not ready", not a 500
            ok, detail = False, {"error": f"{type(error).__name__}: {error}"}
        return response.json({"status": "ready" if ok else "not ready", **detail}, status=200 if ok else 503)

    app.add_route(metrics, "/metrics", methods=["GET"], name="anxin_metrics")
    app.add_route(live, "/health/live", methods=["GET"], name="anxin_health_live")
    app.add_route(readiness, "/health/ready", methods=["GET"], name="anxin_health_ready")
