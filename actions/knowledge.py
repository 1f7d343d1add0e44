"""FAQ-style questions answered from the knowledge base, with the source named.

The answer is the best passage quoted verbatim (so no rate, fee or yield can appear that is not
in the reviewed text) with its title; close runners-up are named as related entries. When the
retriever is not confident the bot says it has no reliable answer and offers a person. A product
sheet is never quoted directly: it goes through the same suitability gate as any product
request (warning first, only products at or below the customer's level, audited).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import joined, language_of
from actions.products import present_products
from bot import metrics
from bot.compliance import catalogue
from bot.dialogue.message_shape import is_question
from bot.knowledge import retriever

logger = logging.getLogger(__name__)
RELATED_MARGIN = 0.02  # runners-up within this cosine of the best are worth naming


class ActionAnswerKnowledge(Action):
    def name(self) -> str:
        return "action_answer_knowledge"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        answer_from_knowledge(dispatcher, tracker, tracker.latest_message.get("text") or "")
        return []


def answer_from_knowledge(dispatcher: CollectingDispatcher, tracker: Tracker, question: str) -> None:
    """Quote the best reviewed passage for ``question`` with its title (and close runners-up by
    name), or say there is no reliable answer. Shared by the FAQ action, the answers given in
    the middle of a form (actions.digressions) and generic product-fact questions."""
    language = language_of(tracker)
    try:
        answer = retriever.shared().answer(question, language)
    except (OSError, ValueError):  # index missing or inconsistent: never guess
        logger.exception("knowledge base unavailable")
        metrics.KNOWLEDGE_REFUSALS.labels("unavailable").inc()
        dispatcher.utter_message(response="utter_kb_no_answer")
        return
    best = answer.best
    if not answer.reliable or best is None:
        metrics.KNOWLEDGE_REFUSALS.labels("weak_evidence").inc()
        dispatcher.utter_message(response="utter_kb_no_answer")
        return
    passage = best.passage
    if passage.product_id:
        product = next(p for p in catalogue.products() if p.id == passage.product_id)
        if present_products(dispatcher, tracker, product.name[language]) == "suggest":
            dispatcher.utter_message(response="utter_kb_source", title=passage.title)
        return
    dispatcher.utter_message(response="utter_kb_answer", title=passage.title, passage=passage.text)
    related = [hit.passage.title for hit in answer.hits[1:]
               if not hit.passage.product_id and best.score - hit.score <= RELATED_MARGIN]
    if related:
        dispatcher.utter_message(response="utter_kb_related", titles=joined(tracker, related))


def reliable_fraud_passage(text: str, language: str):
    """The reviewed fraud passage a message matches (the safety protocol quotes it), or None
    when retrieval is not reliable or the best entry is not about fraud."""
    try:
        answer = retriever.shared().answer(text, language)
    except (OSError, ValueError):
        logger.exception("knowledge base unavailable")
        return None
    best = answer.best
    if not answer.reliable or best is None or not best.passage.source.endswith("fraud.yml"):
        return None
    return best.passage


def answer_question_instead(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> bool:
    """When the form asked for ``slot`` and the customer replied with a plain question, answer
    the question from the knowledge base and return True: the validator then leaves the slot
    empty and the form asks again. A first message that states a request as a question ("能帮我
    给张三转500吗") starts the form with its values: nothing had been asked yet."""
    text = tracker.latest_message.get("text") or ""
    if tracker.get_slot("requested_slot") != slot or not is_question(text):
        return False
    answer_from_knowledge(dispatcher, tracker, text)
    return True
