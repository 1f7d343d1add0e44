"""Tracker fixtures for action tests, in the style of Rasa's starter packs."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.compliance import audit


def make_tracker(text: str = "", sender: str = "tester", slots: dict | None = None,
                 events: list | None = None, intent: str = "greet") -> Tracker:
    return Tracker(
        sender_id=sender,
        slots={"language": "zh", "payee": None, "amount": None, "pending_transfer": None,
               "requested_slot": None, **(slots or {})},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []},
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture
def tracker_factory():
    return make_tracker


def records_asked(dispatcher: CollectingDispatcher) -> list[tuple[str, dict]]:
    """(response, request) of each record of what was shown that the action asked for, in order:
    the Rasa server writes them once those messages pass its guard (tests/rasa_server)."""
    return [(m.get("response"), m[audit.SHOWN_KEY]) for m in dispatcher.messages if m.get(audit.SHOWN_KEY)]
