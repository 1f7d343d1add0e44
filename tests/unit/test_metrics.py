"""Prometheus metrics: the definitions, /metrics and the health endpoints on a real Sanic server,
what the actions count, and the Grafana dashboard against the definitions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import uuid
from pathlib import Path

import pytest
import requests
from prometheus_client import REGISTRY
from rasa_sdk.executor import CollectingDispatcher
from sanic import Sanic, response

from bot import metrics
from bot.compliance import rulebook
from tests.actions.conftest import make_tracker

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "anxin-dashboard.json"
SERIES = re.compile(r"\banxin_[a-z0-9_]+")


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(app: Sanic):
    """``app`` on 127.0.0.1 inside this event loop; yields its base URL."""
    port = free_port()
    app.config.TOUCHUP = False  # Sanic rewrites its HTTP code once per process; a second app would fail
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()


def get(url: str) -> requests.Response:
    return requests.get(url, timeout=10)


def scrape(url: str) -> requests.Response:
    return requests.get(url, timeout=10, headers={"Authorization": "Bearer unit-metrics-token"})


# -- definitions ----------------------------------------------------------------------


def test_every_metric_is_prefixed_and_documented():
    assert len(metrics.ALL) >= 10
    for metric in metrics.ALL:
        assert metric._name.startswith("anxin_"), metric._name
        assert len(metric._documentation) > 20, metric._name


def test_label_values_outside_the_known_lists_are_other():
    assert metrics.channel("rest") == "rest" and metrics.channel("socketio") == "socketio"
    assert metrics.channel("rest\n") == metrics.channel("cmdline") == metrics.channel(None) == "other"
    assert metrics.bounded("greet", ["greet", "goodbye"]) == "greet"
    assert metrics.bounded("/made_up_intent", ["greet"]) == "other"


# -- /metrics and the health endpoints on a real server ---------------------------------


def test_metrics_and_health_endpoints_on_a_sanic_app(monkeypatch):
    monkeypatch.setenv("ANXIN_METRICS_TOKEN", "unit-metrics-token")
    app = Sanic(f"metrics_{uuid.uuid4().hex[:8]}")
    state = {"ready": False}
    metrics.add_routes(app, lambda: (state["ready"], {"models": {"emotion_model": state["ready"]}}))

    @app.get("/count")
    async def count(_):
        metrics.INTENTS.labels("unit_test_intent").inc()
        return response.json({})

    async def scenario():
        async with serving(app) as base:
            live = await asyncio.to_thread(get, f"{base}/health/live")
            not_ready = await asyncio.to_thread(get, f"{base}/health/ready")
            state["ready"] = True
            ready = await asyncio.to_thread(get, f"{base}/health/ready")
            anonymous = await asyncio.to_thread(get, f"{base}/metrics")
            before = await asyncio.to_thread(scrape, f"{base}/metrics")
            for _ in range(3):
                await asyncio.to_thread(get, f"{base}/count")
            after = await asyncio.to_thread(scrape, f"{base}/metrics")
        return live, not_ready, ready, before, after, anonymous

    live, not_ready, ready, before, after, anonymous = asyncio.run(scenario())
    assert anonymous.status_code == 403  # /metrics only with ANXIN_METRICS_TOKEN
    assert live.status_code == 200
    assert not_ready.status_code == 503 and not_ready.json()["status"] == "not ready"
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "models": {"emotion_model": True}}
    assert after.headers["content-type"].startswith("text/plain")

    def counted(text: str) -> float:
        found = re.search(r'^anxin_intents_total\{intent="unit_test_intent"\} (\S+)$', text, re.M)
        return float(found.group(1)) if found else 0.0

    assert counted(after.text) - counted(before.text) == 3
    assert "# HELP anxin_turn_seconds " in after.text and "# TYPE anxin_turn_seconds histogram" in after.text


def test_a_readiness_check_that_raises_is_not_ready():
    app = Sanic(f"metrics_{uuid.uuid4().hex[:8]}")

    def broken():
        raise OSError("index missing")

    metrics.add_routes(app, broken)

    async def scenario():
        async with serving(app) as base:
            return await asyncio.to_thread(get, f"{base}/health/ready")

    reply = asyncio.run(scenario())
    assert reply.status_code == 503 and "index missing" in reply.json()["error"]


def test_the_action_servers_readiness_follows_what_warm_up_loaded(monkeypatch):
    from bot import action_server
    from bot.emotion import classifier
    from bot.knowledge import retriever

    monkeypatch.setattr(action_server, "LOADED", {"knowledge_base": False, "emotion_model": False})

    def missing():
        raise FileNotFoundError("no emotion model")

    monkeypatch.setattr(classifier, "shared", missing)
    monkeypatch.setattr(retriever, "shared", lambda: type("R", (), {"answer": lambda *_: None})())
    action_server.warm_up()
    assert action_server.models_ready() == (False, {"models": {"knowledge_base": True, "emotion_model": False},
                                                    "rules_version": rulebook.current().version})
    monkeypatch.setattr(classifier, "shared", lambda: type("C", (), {"classify": lambda *_: None})())
    action_server.warm_up()
    assert action_server.models_ready()[0] is True


def test_the_action_executor_times_each_action_by_name():
    from rasa_sdk import Action

    from bot.action_server import TimedActionExecutor

    class Slow(Action):
        def name(self) -> str:
            return "action_unit_slow"

        async def run(self, dispatcher, tracker, domain):
            await asyncio.sleep(0.02)
            return []

    executor = TimedActionExecutor()
    executor.register_action(Slow())
    tracker = {"sender_id": "s", "slots": {}, "latest_message": {}, "events": [], "paused": False,
               "followup_action": None, "active_loop": {}, "latest_action_name": None}
    before = value("anxin_action_seconds_count", action="action_unit_slow")
    seconds = value("anxin_action_seconds_sum", action="action_unit_slow")
    asyncio.run(executor.run({"next_action": "action_unit_slow", "sender_id": "s", "tracker": tracker, "domain": {}}))
    assert value("anxin_action_seconds_count", action="action_unit_slow") == before + 1
    assert value("anxin_action_seconds_sum", action="action_unit_slow") - seconds >= 0.02
    other = value("anxin_action_seconds_count", action="other")
    with pytest.raises(Exception):  # noqa: B017 - rasa-sdk's ActionNotFoundException; timed all the same
        asyncio.run(executor.run({"next_action": "action_nobody_wrote", "tracker": tracker, "domain": {}}))
    assert value("anxin_action_seconds_count", action="other") == other + 1


# -- what the actions count ----------------------------------------------------------------


def test_the_sensing_action_counts_the_emotion_it_classified_and_not_a_click(monkeypatch, dispatcher):
    from actions.sense import ActionSenseMessage
    from bot.emotion import classifier
    from bot.emotion.classifier import Emotion

    class Angry:
        def classify(self, _text):
            return Emotion("angry", 0.4, {"calm": 0.1, "anxious": 0.2, "angry": 0.6, "distressed": 0.1})

        def in_crisis(self, _emotion):
            return False

        def opener_due(self, _emotion):
            return False

    monkeypatch.setattr(classifier, "shared", lambda: Angry())
    before = value("anxin_emotions_total", emotion="angry")
    asyncio.run(ActionSenseMessage().run(dispatcher, make_tracker("你们怎么回事，气死我了"), {}))
    assert value("anxin_emotions_total", emotion="angry") == before + 1
    asyncio.run(ActionSenseMessage().run(dispatcher, make_tracker("/affirm"), {}))
    assert value("anxin_emotions_total", emotion="angry") == before + 1


def test_a_knowledge_refusal_is_counted_with_its_reason(monkeypatch, dispatcher):
    from actions.knowledge import ActionAnswerKnowledge
    from bot.knowledge import retriever
    from bot.knowledge.retriever import Answer

    monkeypatch.setattr(retriever, "shared", lambda: type("R", (), {"answer": lambda *_: Answer(False, 0.1, ())})())
    before = value("anxin_knowledge_refusals_total", reason="weak_evidence")
    asyncio.run(ActionAnswerKnowledge().run(dispatcher, make_tracker("火星上的分行几点开门"), {}))
    assert dispatcher.messages[-1]["response"] == "utter_kb_no_answer"
    assert value("anxin_knowledge_refusals_total", reason="weak_evidence") == before + 1


def test_a_handoff_is_counted_with_its_reason(dispatcher):
    from actions.emotion import ActionHandoffWithSummary

    before = value("anxin_handoffs_total", reason="asked")
    asyncio.run(ActionHandoffWithSummary().run(dispatcher, make_tracker("转人工", intent="request_human"), {}))
    assert dispatcher.messages[-1]["response"] == "utter_handoff"
    assert value("anxin_handoffs_total", reason="asked") == before + 1


# -- the Grafana dashboard ---------------------------------------------------------------------


def defined_series() -> dict[str, str]:
    """Every series name bot.metrics can produce -> the metric it belongs to."""
    series = {}
    for metric in metrics.ALL:
        for sample in metric.describe()[0].samples or ():
            series[sample.name] = metric._name
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}[metric._type]
        series.update({metric._name + suffix: metric._name for suffix in suffixes})
    return series


def expressions(dashboard: dict) -> list[str]:
    found = []
    for panel in dashboard["panels"]:
        found += [target["expr"] for target in panel.get("targets", [])]
        for inner in panel.get("panels", []):  # collapsed rows
            found += [target["expr"] for target in inner.get("targets", [])]
    return found


def unknown_series(exprs: list[str]) -> set[str]:
    return {name for expr in exprs for name in SERIES.findall(expr)} - set(defined_series())


def test_the_check_catches_a_metric_name_that_does_not_exist():
    assert unknown_series(["sum(rate(anxin_intents_total[5m]))"]) == set()
    assert unknown_series(["sum(rate(anxin_intent_total[5m]))", "anxin_turn_seconds"]) == {
        "anxin_intent_total", "anxin_turn_seconds"}  # a typo, and a histogram's family name is no series


def test_the_dashboard_uses_only_defined_metrics_and_shows_every_one():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert 36 <= dashboard["schemaVersion"] <= 41 and dashboard["uid"]
    exprs = expressions(dashboard)
    assert exprs and all(SERIES.search(expr) for expr in exprs)
    assert unknown_series(exprs) == set()
    used = {defined_series()[name] for expr in exprs for name in SERIES.findall(expr)}
    assert {metric._name for metric in metrics.ALL} - used == set()
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["title"] and panel["gridPos"]["w"] <= 24
        assert panel["datasource"]["uid"] == "${datasource}"


def test_rasa_sdks_version_warning_is_silenced_for_the_measured_pairing_only():
    import warnings

    from rasa_sdk import utils

    from bot import action_server

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action_server.silence_paired_version_warning()
        utils.check_version_compatibility("3.6.21")  # the pairing runtime.md measured
        assert caught == []
        utils.check_version_compatibility("3.5.2")  # any other mismatch still warns
        assert len(caught) == 1 and "might not be compatible" in str(caught[0].message)
