"""Per-turn sensing run by ``action_extract_slots`` through the custom slot mappings in domain.yml:
the language the customer writes in, and how they feel."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.emotion import care
from bot.language import detect_language

logger = logging.getLogger(__name__)


class ActionSenseMessage(Action):
    """Set ``language`` and the emotion slots (``emotion``, ``anxiety``, ``distress_turns``,
    ``emotion_trend``, ``care_mode``) from the customer's latest message, every turn."""

    def name(self) -> str:
        return "action_sense_message"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text")
        current = tracker.current_slot_values()
        values = {"language": detect_language(text, current.get("language"))}
        try:
            values.update(care.next_state(care.CareState.from_slots(current), text).as_slots())
        except (OSError, ValueError):  # no emotion model: keep talking, just without sensing
            logger.exception("emotion model unavailable")
        # Only what changed: every SlotSet is stored in the tracker and re-read on every turn.
        return [SlotSet(name, value) for name, value in values.items() if current.get(name) != value]
