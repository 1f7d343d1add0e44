"""The Rasa server answers "service busy" in the customer's language when the action server is down."""

import asyncio
import socket
import time

from rasa.core.actions.action import RemoteAction
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_ext import action_fallback

DOMAIN = Domain.load("domain.yml")


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/webhook"  # nothing listens here any more


def tracker_with(text: str, language: str = "zh") -> DialogueStateTracker:
    tracker = DialogueStateTracker.from_events("c1", [SlotSet("language", language), UserUttered(text)],
                                               slots=DOMAIN.slots)
    return tracker


def run_action(name: str, tracker: DialogueStateTracker):
    action_fallback.install()
    action = RemoteAction(name, EndpointConfig(closed_port_url()))
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    return asyncio.run(action.run(CollectingOutputChannel(), nlg, tracker, DOMAIN))


def busy_texts(language: str) -> list[str]:
    return [r["text"] for r in DOMAIN.responses["utter_service_busy"]
            if bool(r.get("condition")) == (language == "en")]


def test_down_action_server_gives_a_busy_answer_in_english_quickly():
    started = time.monotonic()
    events = run_action("action_check_balance", tracker_with("check my balance", language="zh"))
    assert time.monotonic() - started < 2.0
    assert SlotSet("language", "en") in events
    [reply] = [e for e in events if isinstance(e, BotUttered)]
    assert reply.text in busy_texts("en")


def test_down_action_server_gives_a_busy_answer_in_chinese():
    events = run_action("action_check_balance", tracker_with("查余额", language="zh"))
    [reply] = [e for e in events if isinstance(e, BotUttered)]
    assert reply.text in busy_texts("zh")
    assert not any(isinstance(e, SlotSet) for e in events)  # language unchanged


def test_failed_sensing_action_still_sets_the_language_without_an_apology():
    assert run_action("action_sense_message", tracker_with("hello", language="zh")) == [SlotSet("language", "en")]
    assert run_action("action_sense_message", tracker_with("你好", language="zh")) == []


def test_install_is_idempotent():
    action_fallback.install()
    wrapped = RemoteAction.run
    action_fallback.install()
    assert RemoteAction.run is wrapped
