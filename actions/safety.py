"""The safety protocol: what the bot does first when a message signals a crisis or a fraud
in progress (``safety_alert``, set by the per-turn sensing; predicted by the Rasa server's
SafetyPolicy before any rule, form or story).

- crisis: a short human sentence, a crisis hotline (bot/safety/signals.yml) and a handoff to
  a person marked urgent (the copilot lists urgent handoffs first); never a product, a
  questionnaire, market facts or a knowledge-base passage;
- fraud: any transfer under way is cancelled first; then "stop, do not transfer, do not share
  codes", the offer to freeze the card and a person, and the reviewed fraud passage when the
  knowledge base has a reliable one.
Any active form ends, and its slots are cleared.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, party_of
from bot import handoff
from bot.safety.detect import CRISIS, hotline

FORM_SLOTS = ("payee", "amount", "pending_transfer", "step_up_code", "requested_slot")


def _end_forms(tracker: Tracker) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [ActiveLoop(None)] if tracker.active_loop.get("name") else []
    events += [SlotSet(name, None) for name in FORM_SLOTS if tracker.get_slot(name) is not None]
    risk = [name for name in tracker.slots if name.startswith("ra_") and tracker.get_slot(name) is not None]
    return events + [SlotSet(name, None) for name in risk]


def _transfer_under_way(tracker: Tracker) -> bool:
    return tracker.active_loop.get("name") in ("transfer_form", "step_up_form") or bool(
        tracker.get_slot("pending_transfer"))


class ActionSafetyProtocol(Action):
    def name(self) -> str:
        return "action_safety_protocol"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        alert = tracker.get_slot("safety_alert")
        events = _end_forms(tracker) + [SlotSet("safety_alert", None)]
        if alert == CRISIS:
            party = party_of(tracker)
            if not party.shadow:
                summary = handoff.summarize(tracker.events, tracker.current_slot_values(), "crisis")
                handoff.record(party.customer_id or tracker.sender_id, {**summary, "urgent": True})
            dispatcher.utter_message(response="utter_crisis_support", hotline=hotline(language_of(tracker)))
            return events + [SlotSet("care_mode", None), SlotSet("distress_turns", 0.0)]
        if _transfer_under_way(tracker):
            dispatcher.utter_message(response="utter_transfer_cancelled")
        dispatcher.utter_message(response="utter_fraud_stop")
        _fraud_passage(dispatcher, tracker)
        return events


def _fraud_passage(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """The reviewed fraud entry the message matches, when retrieval is reliable."""
    from actions.knowledge import reliable_fraud_passage  # the knowledge base only when needed

    passage = reliable_fraud_passage(tracker.latest_message.get("text") or "", language_of(tracker))
    if passage is not None:
        dispatcher.utter_message(response="utter_kb_answer", title=passage.title, passage=passage.text)
