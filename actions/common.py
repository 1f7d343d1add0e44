"""Small helpers shared by the actions."""

from __future__ import annotations

from rasa_sdk import Tracker

from bot.language import DEFAULT_LANGUAGE


def language_of(tracker: Tracker) -> str:
    """The language of the conversation now (set every turn by action_sense_message)."""
    return tracker.get_slot("language") or DEFAULT_LANGUAGE


def joined(tracker: Tracker, items) -> str:
    """A list written the way the customer's language writes lists."""
    return ("、" if language_of(tracker) == "zh" else ", ").join(items)
