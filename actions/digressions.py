"""Questions asked in the middle of a form (transfer, risk assessment), answered before the
form asks its question again.

The slot mappings in domain.yml do not take a value from these intents, so the form declines
the turn and the rules in data/rules/digressions.yml run ``action_answer_digression`` and then
the form, which repeats its question. A question the NLU reads as an answer ("inform") is
caught by the forms' validators instead (``actions.knowledge.answer_question_instead``): a slot value is never
taken from a sentence that is plainly a question.

The same answer is given at the transfer confirmation question, after which the same
confirmation is asked again (``action_ask_transfer_confirmation``): a question never drops a
pending transfer. A question about transfer limits gets the customer's own figures
(``actions.accounts.answer_limits``), not the general fees passage.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.accounts import ActionCheckBalance, answer_limits
from actions.advisory import ActionHoldingsSummary
from actions.common import party_of, refuse_unidentified
from actions.emotion import ActionMarketFacts, care_opener
from actions.knowledge import answer_from_knowledge
from actions.product_facts import answer_product_facts
from actions.risk import ActionShowRiskProfile

# Answers that are one response each.
_RESPONSES = {"bot_challenge": "utter_iamabot",
              "thanks": "utter_you_are_welcome", "greet": "utter_greet_in_form",
              "product_inquiry": "utter_products_after_form"}
# Answers that are whole actions, run as they are outside a form.
_ACTIONS = {"check_balance": ActionCheckBalance, "check_risk_level": ActionShowRiskProfile,
            "market_worry": ActionMarketFacts, "ask_holdings": ActionHoldingsSummary}


class ActionAnswerDigression(Action):
    def name(self) -> str:
        return "action_answer_digression"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = tracker.latest_message.get("text") or ""
        party = party_of(tracker)
        if intent == "product_inquiry" and not party.identified:
            # nobody to suggest products to, and nothing to come back to: the transfer form was
            # refused for this unbound follower (or signed-out customer), so say why, as outside
            refuse_unidentified(dispatcher, party)
            return []
        if intent in _ACTIONS:  # these choose their own opener
            return await _ACTIONS[intent]().run(dispatcher, tracker, domain)
        care_opener(dispatcher, tracker)
        if intent == "fees_and_limits":  # the customer's own limits when asked, else the general passage
            if not answer_limits(dispatcher, tracker, text):
                dispatcher.utter_message(response="utter_fees_and_limits")
        elif intent in _RESPONSES:
            dispatcher.utter_message(response=_RESPONSES[intent])
        elif intent == "product_facts":
            answer_product_facts(dispatcher, tracker, text)
        else:  # ask_faq, or anything else the rules send here
            answer_from_knowledge(dispatcher, tracker, text)
        return []
