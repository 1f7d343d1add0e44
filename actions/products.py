"""Product questions: the suitability gate, the mandatory warning first, then matching products.

Every path that names a product sends the mandatory risk warning as its own message first
(rule 3); what is named and shown is decided by ``bot.compliance.suitability`` and written
to the audit trail (rule 6). The Rasa server's guard checks all of it again before sending.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import joined, language_of, party_of, refuse_unidentified
from bot.accounts import store as accounts
from bot.advisory import assessment, suggestions
from bot.compliance import audit, catalogue, rulebook, suitability
from bot.compliance.risk_profile import current as current_profile
from bot.compliance.risk_profile import level_name

NOT_SENSED = "not_sensed"


def _product_refs(products) -> list[dict]:
    return [{"id": p.id, "risk": p.risk} for p in products]


def present_products(dispatcher: CollectingDispatcher, tracker: Tracker, asked: str) -> str:
    """Answer a request for products (``asked``: the customer's words, or a product name the
    knowledge base matched) through the suitability gate, warning first, audited. Returns the
    gate's decision (``suggest`` when products were presented). The records of what was shown
    are asked for on the messages concerned (``audit.when_shown``): the Rasa server writes them
    once those messages passed its guard and were sent. The copilot's rehearsal (a shadow
    party) is answered for the call's customer but asks for no record: the customer was not
    shown anything."""
    language = language_of(tracker)
    party = party_of(tracker)
    if refuse_unidentified(dispatcher, party):
        return "unidentified"
    customer = party.customer_id
    emotion = tracker.get_slot("emotion")
    profile = current_profile(customer)
    decision = suitability.decide(profile, asked, emotion)
    if decision.kind == "no_assessment":
        dispatcher.utter_message(response="utter_need_risk_assessment")
        return decision.kind
    if decision.kind == "expired":
        dispatcher.utter_message(response="utter_risk_assessment_expired", date=profile.date)
        return decision.kind
    if decision.kind == "emotional":
        dispatcher.utter_message(response="utter_no_selling_when_emotional")
        return decision.kind

    shown, reasons, needs_unknown = decision.products, {}, False
    if decision.kind == "suggest" and not catalogue.named_in(asked) and not suitability.requested_types(asked):
        shown, reasons, needs_unknown = fitting_needs(customer, profile, language, decision.products)
        if not shown:  # within the level, nothing fits the needs: nothing is named, so no warning is due
            dispatcher.utter_message(response="utter_no_product_fits_needs", level=profile.level)
            return "no_fit"
    warning = rulebook.current().mandatory_warning[language]
    audited = {"c_level": profile.level, "products": _product_refs(shown),
               "warning_text": warning, "emotion": emotion or NOT_SENSED}

    def when_shown(kind: str, **extra: Any) -> dict:
        return {} if party.shadow else audit.when_shown(customer, kind, **audited, **extra)

    dispatcher.utter_message(response="utter_risk_warning", warning=warning, level=profile.level,
                             level_name=level_name(profile.level, language),
                             date=profile.date, **when_shown("warning"))
    names = [p.name[language] for p in decision.products]
    if decision.kind in ("mismatch", "refused_c1"):
        response = "utter_product_mismatch" if decision.kind == "mismatch" else "utter_product_mismatch_c1"
        dispatcher.utter_message(response=response, products=joined(tracker, names), level=profile.level,
                                 risks=joined(tracker, [p.risk for p in decision.products]),
                                 **when_shown("mismatch", detail=decision.kind))
        _cooling_off(dispatcher, decision.products, language)
        if decision.kind == "mismatch":
            dispatcher.utter_message(response="utter_handoff")
        return decision.kind

    for product in shown:
        dispatcher.utter_message(
            response="utter_product_line", name=product.name[language], risk=product.risk,
            level=profile.level, term=product.term[language], min_amount=f"{product.min_amount:,}",
            liquidity=product.liquidity[language], fees=product.fees[language],
            key_risks=product.key_risks[language])
        if product.id in reasons:
            dispatcher.utter_message(response="utter_product_fit", reason=reasons[product.id])
    _cooling_off(dispatcher, shown, language)
    if needs_unknown:
        dispatcher.utter_message(response="utter_needs_not_on_file")
    if profile.senior:
        dispatcher.utter_message(response="utter_senior_care")
    dispatcher.utter_message(response="utter_presale_notice", **when_shown("suggestion"))
    return decision.kind


def fitting_needs(customer: str, profile, language: str, level_only: list) -> tuple[list, dict[str, str], bool]:
    """A general request ("what do you recommend?") gets at most three products that fit the level
    *and* the needs the customer gave in the assessment (horizon, goal, liquidity) and the funds
    in their account, each with the reason it fits; those that fit the level only are not shown.
    An assessment on file without those answers leaves the level's list (third value True: say so)."""
    account = accounts.account(customer)
    fitted = suggestions.suggest(profile, assessment.answers(customer), account.balance if account else Decimal(0),
                                 language)
    if fitted.refused == "incomplete_answers":
        return level_only, {}, True
    return [s.product for s in fitted.shown], {s.product.id: s.reason for s in fitted.shown}, False


def _cooling_off(dispatcher: CollectingDispatcher, products, language: str) -> None:
    for product in products:
        if product.is_private:
            dispatcher.utter_message(response="utter_cooling_off", name=product.name[language])


class ActionSuggestProducts(Action):
    def name(self) -> str:
        return "action_suggest_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        present_products(dispatcher, tracker, tracker.latest_message.get("text") or "")
        return []
