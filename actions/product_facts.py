"""Facts about products, for anyone: "is this wealth product principal-protected?", "现金宝的
赎回多久到账", "what's the minimum for the 3-year CD?".

A fact is not a recommendation, so no assessment is needed to hear it — but the mandatory risk
warning still comes first (rule 3), the answer says plainly that it is information and not a
recommendation, and whether a product suits the customer is still only decided by the
suitability gate (actions.products). Facts come from the reviewed catalogue only (term, minimum,
liquidity, fees, main risks, risk level, cooling-off); the catalogue states no returns, so none
can be stated here. A question that names no product ("are wealth products guaranteed?") is
answered from the investor-education entries of the knowledge base. A request to buy or to be
advised ("X能买吗", "just sell me the X") is never answered as facts: it goes to the gate
(bot.compliance.suitability.asks_for_advice, words in advice_requests.yml).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, party_of
from actions.emotion import care_opener
from actions.knowledge import answer_from_knowledge
from actions.products import present_products
from bot.compliance import audit, catalogue, rulebook, suitability

MAX_PRODUCTS = 3  # a question naming more is answered for the first three, in the order named


def answer_product_facts(dispatcher: CollectingDispatcher, tracker: Tracker, question: str) -> None:
    """Facts for anyone; but a request to buy or to be advised ("X能买吗") is the suitability
    gate's, whatever the NLU called it."""
    if suitability.asks_for_advice(question):
        present_products(dispatcher, tracker, question)
        return
    language = language_of(tracker)
    named = catalogue.named_in(question)[:MAX_PRODUCTS]
    warning = rulebook.current().mandatory_warning[language]
    party = party_of(tracker)
    # rule 6: every warning shown is on record, written by the Rasa server once it was shown
    shown = audit.when_shown(party.customer_id, "warning", products=[{"id": p.id, "risk": p.risk} for p in named],
                             warning_text=warning, emotion=tracker.get_slot("emotion"), detail="facts") \
        if named and party.identified and not party.shadow else {}
    dispatcher.utter_message(response="utter_facts_warning", warning=warning, **shown)
    if not named:
        answer_from_knowledge(dispatcher, tracker, question)
    for product in named:
        cooling = "utter_fact_cooling_off" if product.is_private else "utter_fact_no_cooling_off"
        dispatcher.utter_message(
            response="utter_product_facts", name=product.name[language], risk=product.risk,
            term=product.term[language],
            min_amount=f"{product.min_amount:,}", liquidity=product.liquidity[language],
            fees=product.fees[language], key_risks=product.key_risks[language])
        dispatcher.utter_message(response=cooling, hours=str(product.cooling_off_hours))
    dispatcher.utter_message(response="utter_facts_not_advice")


class ActionProductFacts(Action):
    def name(self) -> str:
        return "action_product_facts"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        care_opener(dispatcher, tracker)
        answer_product_facts(dispatcher, tracker, tracker.latest_message.get("text") or "")
        return []
