"""bot/rasa_ext/never_silent.py: a turn about to end with nothing said gets utter_default first."""

import asyncio

from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext import never_silent


def tracker(*events):
    return DialogueStateTracker.from_events("c", list(events))


def test_a_message_with_no_answer_yet_is_silent():
    assert never_silent._silent_since_the_customer_spoke(
        tracker(ActionExecuted(ACTION_LISTEN_NAME), UserUttered("but he showed me the dashboard")))


def test_an_answered_message_and_a_session_start_are_not():
    assert not never_silent._silent_since_the_customer_spoke(
        tracker(UserUttered("hi"), BotUttered("hello")))
    assert not never_silent._silent_since_the_customer_spoke(tracker(ActionExecuted(ACTION_SESSION_START_NAME)))


def test_the_clarifying_question_runs_before_the_bot_listens(monkeypatch):
    ran = []

    async def original(self, action, tracker, output_channel, nlg, prediction):
        ran.append(action.name())
        return False

    monkeypatch.setattr(MessageProcessor, "_run_action", original)
    never_silent.install()

    class Listen:
        def name(self):
            return ACTION_LISTEN_NAME

    processor = MessageProcessor.__new__(MessageProcessor)  # only what the wrapper reads
    processor.domain, processor.action_endpoint = None, None
    monkeypatch.setattr(never_silent, "action_for_name_or_text",
                        lambda name, *_: type("A", (), {"name": lambda self: name})())
    monkeypatch.setattr(never_silent.PolicyPrediction, "for_action_name", staticmethod(lambda *a, **k: None))
    silent = tracker(ActionExecuted(ACTION_LISTEN_NAME), UserUttered("?!"))
    asyncio.run(MessageProcessor._run_action(processor, Listen(), silent, None, None, None))
    assert ran == ["utter_default", ACTION_LISTEN_NAME]
    ran.clear()
    answered = tracker(UserUttered("hi"), BotUttered("hello"))
    asyncio.run(MessageProcessor._run_action(processor, Listen(), answered, None, None, None))
    assert ran == [ACTION_LISTEN_NAME]
