"""Observability through the real servers: Prometheus metrics grow with real turns, readiness and
liveness answer on all three servers, and the Rasa server's log lines are JSON carrying the
caller's request id with personal numbers masked."""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

PHONE = "13912345678"
MASKED_PHONE = "139****5678"
_msg_ids = itertools.count(int(time.time() * 1000) + 7_000_000)


def scrape(base_url: str) -> dict[tuple[str, tuple], float]:
    """Every sample of ``base_url``'s /metrics: (name, sorted labels) -> value."""
    reply = requests.get(f"{base_url}/metrics", timeout=10,
                         headers={"Authorization": f"Bearer {os.environ['ANXIN_METRICS_TOKEN']}"})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(reply.text) for s in family.samples}


def total(samples: dict, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def log_lines(name: str) -> list[str]:
    return (Path(os.environ["ANXIN_STATE_DIR"]) / "logs" / f"{name}.log").read_text(encoding="utf-8").splitlines()


def json_lines(name: str) -> list[dict]:
    found = []
    for line in log_lines(name):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            found.append(record)
    return found


def grown(before: dict, after: dict, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


class ActionServerPaused:
    """The action server's process group stopped (SIGSTOP) for ``seconds``, then resumed."""

    def __init__(self, servers, seconds: float) -> None:
        self.group = os.getpgid(servers.processes["actions"].pid)
        self.resume = threading.Timer(seconds, os.killpg, (self.group, signal.SIGCONT))

    def __enter__(self) -> None:
        os.killpg(self.group, signal.SIGSTOP)
        self.resume.start()

    def __exit__(self, *_: object) -> None:
        self.resume.join()
        os.killpg(self.group, signal.SIGCONT)


@pytest.fixture
def urls(servers):
    return {"rasa": servers.rasa_url, "actions": servers.action_url, "copilot": servers.copilot_url}


def test_liveness_and_readiness_on_every_server(urls):
    for name, base in urls.items():
        live = requests.get(f"{base}/health/live", timeout=10)
        ready = requests.get(f"{base}/health/ready", timeout=10)
        assert live.status_code == 200, (name, live.text)
        assert ready.status_code == 200 and ready.json()["status"] == "ready", (name, ready.text)
    assert requests.get(f"{urls['rasa']}/health/ready", timeout=10).json()["model_loaded"] is True
    for name in ("actions", "copilot"):  # the models behind every answer are loaded
        assert requests.get(f"{urls[name]}/health/ready", timeout=10).json()["models"] == {
            "knowledge_base": True, "emotion_model": True}
        assert requests.get(f"{urls[name]}/health", timeout=10).json() == {"status": "ok"}  # as before


def test_turns_are_counted_by_channel_intent_and_emotion(urls, chat):
    rasa_before, actions_before = scrape(urls["rasa"]), scrape(urls["actions"])
    messages = ["你好", "查一下我的余额", "How much is in my account?"]
    for message in messages:
        assert chat.texts(message)
    rasa_after, actions_after = scrape(urls["rasa"]), scrape(urls["actions"])
    assert grown(rasa_before, rasa_after, "anxin_turn_seconds_count", channel="rest") == len(messages)
    assert grown(rasa_before, rasa_after, "anxin_turn_seconds_bucket", channel="rest", le="+Inf") == len(messages)
    assert grown(rasa_before, rasa_after, "anxin_turn_seconds_sum", channel="rest") > 0
    assert grown(rasa_before, rasa_after, "anxin_intents_total") == len(messages)
    assert grown(rasa_before, rasa_after, "anxin_intents_total", intent="greet") >= 1
    assert grown(actions_before, actions_after, "anxin_emotions_total") == len(messages)
    assert grown(actions_before, actions_after, "anxin_action_seconds_count", action="action_sense_message") \
        == len(messages)
    copilot = scrape(urls["copilot"])
    assert any(name == "anxin_copilot_analysis_seconds_count" for name, _ in copilot)


def test_a_turns_log_lines_are_json_with_the_callers_request_id_and_masked_numbers(chat):
    request_id = f"e2e-obs-{uuid.uuid4().hex}"
    reply = requests.post(chat.url, json={"message": f"我的手机号是{PHONE}，帮我查一下余额"},
                          headers={**chat.headers, "X-Request-Id": request_id}, timeout=30)
    assert reply.status_code == 200 and reply.json()
    assert reply.headers["X-Request-Id"] == request_id

    rasa = [line for line in json_lines("rasa") if line.get("request_id") == request_id]
    turn = [line for line in rasa if line["logger"] == "bot.rasa_ext.turns"]
    assert len(turn) == 1, rasa
    [line] = turn
    assert line["process"] == "rasa" and line["level"] == "INFO" and line["channel"] == "rest"
    assert {"time", "level", "logger", "message", "request_id", "process"} <= line.keys()
    assert MASKED_PHONE in line["message"] and PHONE not in line["message"]
    assert not any(PHONE in text for text in log_lines("rasa"))
    # The Rasa server forwarded the request id: the action server's lines for this turn carry it.
    actions = [line for line in json_lines("actions") if line.get("request_id") == request_id]
    assert any(line.get("action") == "action_sense_message" for line in actions), actions
    assert not any(PHONE in text for text in log_lines("actions"))


def test_without_a_request_id_the_server_makes_one(chat):
    first = chat.post(message="你好")
    second = chat.post(message="你好")
    ids = [r.headers.get("X-Request-Id") for r in (first, second)]
    assert all(ids) and ids[0] != ids[1]
    turns = [line["request_id"] for line in json_lines("rasa") if line.get("logger") == "bot.rasa_ext.turns"]
    assert ids == turns[-2:]


def test_wechat_turns_are_counted_as_passive_or_asynchronous_deliveries(servers, urls, wechat, wechat_api):
    """A quick answer goes back in the callback's reply (passive); with the action server paused
    for 6 s the callback says `success` and the answer follows by the customer-service API (async)."""
    openid = "o" + uuid.uuid4().hex[:27]
    before = scrape(urls["rasa"])
    quick = wechat.post(wechat.text_xml(openid, "你好", next(_msg_ids)))
    assert quick.status == 200 and quick.body != "success"
    with ActionServerPaused(servers, 6.0):
        slow = wechat.post(wechat.text_xml(openid, "你好", next(_msg_ids)))
        assert slow.status == 200 and slow.body == "success"
    assert wechat_api.wait_for(openid, 1, timeout=30)
    after = scrape(urls["rasa"])
    assert grown(before, after, "anxin_wechat_deliveries_total", mode="passive") == 1
    assert grown(before, after, "anxin_wechat_deliveries_total", mode="async") == 1
    assert grown(before, after, "anxin_turn_seconds_count", channel="wechat") == 2
    assert grown(before, after, "anxin_turn_seconds_sum", channel="wechat") > 4.5  # the paused turn


def test_an_action_that_outlives_the_timeout_is_counted_as_a_failure(servers, urls, chat):
    """The action server paused past ANXIN_ACTION_TIMEOUT (8 s): the sensing action times out,
    the greeting is still answered, and the Rasa server counts one time-out for that action."""
    before = scrape(urls["rasa"])
    with ActionServerPaused(servers, 9.5):
        assert chat.texts("你好")
    after = scrape(urls["rasa"])
    assert grown(before, after, "anxin_action_failures_total", action="action_sense_message", kind="timeout") == 1
    assert grown(before, after, "anxin_action_failures_total", kind="error") == 0
