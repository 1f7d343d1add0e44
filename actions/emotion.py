"""Actions for customers who are worried, angry or distressed (see data/rules/emotion.yml)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.advisory import answer_worry_from_holdings
from actions.common import language_of, party_of
from bot import handoff, metrics
from bot.emotion import care
from bot.knowledge import sources

MARKET_FALL_ENTRY = "edu-market-fall"


def care_opener(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """The first words to a customer the emotion model is confident about (care_mode "support",
    bot.emotion.care): an apology to an angry customer, calm words to an anxious or distressed
    one. A customer it is unsure about gets no opener: being told "I can hear you're worried"
    when one is not feels patronising (selling is held back at a lower threshold all the same)."""
    if tracker.get_slot("care_mode") not in ("support", "handoff"):
        return
    angry = tracker.get_slot("emotion") == "angry"
    dispatcher.utter_message(response="utter_apology" if angry else "utter_calm_empathy")


class ActionCareOpener(Action):
    """The opener of the support rules (data/rules/emotion.yml), as an action so that an angry
    customer is apologised to and an anxious one reassured by the same rule."""

    def name(self) -> str:
        return "action_care_opener"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        care_opener(dispatcher, tracker)
        return []


class ActionMarketFacts(Action):
    """"基金跌了好多怎么办" / "should I sell everything": for a customer who holds investments, the
    facts of the holding concerned and the offer of an advisor (``actions.advisory``); for anyone
    else, the facts about risk from the reviewed investor-education entry, the customer's own
    choice, and a person. Never advice to buy, sell or hold, never a product suggestion."""

    def name(self) -> str:
        return "action_market_facts"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        care_opener(dispatcher, tracker)
        if answer_worry_from_holdings(dispatcher, tracker):
            return []
        passage = sources.passage(f"{MARKET_FALL_ENTRY}:{language_of(tracker)}")
        dispatcher.utter_message(response="utter_kb_answer", title=passage.title, passage=passage.text)
        dispatcher.utter_message(response="utter_market_own_choice")
        dispatcher.utter_message(response="utter_offer_person")
        return []


class ActionHandoffWithSummary(Action):
    """Hand the customer to a person and leave the person a summary (bot.handoff)."""

    def name(self) -> str:
        return "action_handoff_with_summary"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        slots = tracker.current_slot_values()
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        reason = {"complaint": "complaint", "request_human": "asked"}.get(intent) or (
            "emotion" if slots.get("care_mode") == "handoff" else "offer_accepted")
        summary = handoff.summarize(tracker.events, slots, reason)
        party = party_of(tracker)
        handoff_id = "-"
        if not party.shadow:  # the copilot's rehearsal hands nobody over
            # The agent needs to know whom they talk to: the customer if known, else the conversation.
            handoff_id = handoff.record(party.customer_id or tracker.sender_id, summary)
            metrics.HANDOFFS.labels(metrics.bounded(reason, metrics.HANDOFF_REASONS)).inc()
        dispatcher.utter_message(response="utter_handoff", handoff_id=handoff_id)
        return [SlotSet(name, value) for name, value in care.AFTER_HANDOFF.items()]
