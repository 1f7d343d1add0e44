"""Per-turn sensing run by ``action_extract_slots`` through the custom slot mapping in domain.yml."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.language import detect_language


class ActionSenseMessage(Action):
    """Set the ``language`` slot from the customer's latest message, every turn, so each
    response variation matches the language the customer is writing in now."""

    def name(self) -> str:
        return "action_sense_message"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text")
        return [SlotSet("language", detect_language(text, tracker.get_slot("language")))]
