"""Per-turn sensing run by ``action_extract_slots`` through the custom slot mappings in domain.yml:
the language the customer writes in, and how they feel."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import metrics
from bot.emotion import care
from bot.language import detect_language
from bot.safety.detect import detect

logger = logging.getLogger(__name__)


class ActionSenseMessage(Action):
    """Set ``language``, the emotion slots (``emotion``, ``anxiety``, ``distress_turns``,
    ``emotion_trend``, ``care_mode``) and ``safety_alert`` (crisis / fraud, which the Rasa
    server's SafetyPolicy answers before anything else) from the latest message, every turn."""

    def name(self) -> str:
        return "action_sense_message"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text")
        current = tracker.current_slot_values()
        values = {"language": detect_language(text, current.get("language"))}
        model_says_crisis = False
        try:
            state = care.next_state(care.CareState.from_slots(current), text)
            values.update(state.as_slots())
            if text and not text.startswith("/"):  # a click keeps the slots: nothing was classified
                metrics.EMOTIONS_SENSED.labels(metrics.bounded(state.emotion, metrics.EMOTIONS)).inc()
            model_says_crisis = state.in_crisis
        except (OSError, ValueError):  # no emotion model: the reviewed signals still work
            logger.exception("emotion model unavailable")
        values["safety_alert"] = detect(text, model_says_crisis)
        # Only what changed: every SlotSet is stored in the tracker and re-read on every turn.
        return [SlotSet(name, value) for name, value in values.items() if current.get(name) != value]
