"""Advisory that knows the customer: what they hold, a worry grounded in it, an advisor booking,
and the personal allocation report (the library is ``bot.advisory``; its texts are its data).

Facts only, the customer's own choice: nothing here says buy, sell or hold. Every message that
names a product comes after the mandatory warning as its own message (the library words them
so), and the warning is put on record once shown (``audit.when_shown``). A holding above the
customer's current level is stated plainly and flagged for an advisor's review; a new flag is
audited (``holding_review``) and shows in the copilot. The copilot's rehearsal (a shadow party)
sees the same facts but leaves no record and books nothing.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of, party_of, refuse_unidentified
from bot import settings
from bot.advisory import bookings, reports, summary, worry
from bot.advisory.report_content import ReportBlocked
from bot.compliance import audit, rulebook
from bot.identity.party import Party

REPORT_PATH = "/webhooks/rest/report/"


def send_with_warning_on_record(dispatcher: CollectingDispatcher, party: Party, messages: list[str] | tuple[str, ...],
                                products: list[dict], detail: str, emotion: str | None = None) -> None:
    """Send the library's messages in order; when the first is the mandatory warning and the
    messages name products, ask for the warning's record (rule 6) on it."""
    warning = messages[0] if messages else ""
    is_warning = warning in rulebook.current().mandatory_warning.values()
    for index, text in enumerate(messages):
        on_record = (index == 0 and is_warning and products and party.identified and not party.shadow)
        extra = audit.when_shown(party.customer_id, "warning", products=products, warning_text=warning,
                                 emotion=emotion, detail=detail) if on_record else {}
        dispatcher.utter_message(text=text, **extra)


def audit_new_flags(party: Party, flags) -> None:
    """A holding newly found above the customer's level is on record as sent for review."""
    if party.shadow:
        return
    for flag in flags:
        if flag.new:
            audit.record(party.customer_id, "holding_review", c_level=flag.customer_level,
                         products=[{"id": flag.product_id, "risk": flag.product_risk}],
                         detail=f"review flag {flag.id}: held above the current level")


class ActionHoldingsSummary(Action):
    """"How are my investments doing?": value, gain or loss since purchase per holding and in
    total, each holding's level against the customer's, then the offer of the report."""

    def name(self) -> str:
        return "action_holdings_summary"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        party = party_of(tracker)
        if refuse_unidentified(dispatcher, party):
            return []
        overview = summary.holdings_overview(party.customer_id, language_of(tracker))
        audit_new_flags(party, overview.flags)
        held = [{"id": h.product.id, "risk": h.product.risk} for h in overview.portfolio.holdings]
        send_with_warning_on_record(dispatcher, party, overview.messages, held, "holdings",
                                    tracker.get_slot("emotion"))
        if overview.portfolio.holdings:
            dispatcher.utter_message(response="utter_offer_report")
        return []


def answer_worry_from_holdings(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """A worry about a loss, answered from the holding concerned (its drawdown, level, the
    horizon the customer gave, what redeeming would cost) and the offer of an advisor; False
    when the customer is not identified or holds nothing (the general facts then apply)."""
    party = party_of(tracker)
    if not party.identified:
        return False
    facts = worry.worry_facts_for(party.customer_id, tracker.latest_message.get("text") or "", language_of(tracker))
    if facts is None:
        return False
    product = facts.holding.product
    send_with_warning_on_record(dispatcher, party, facts.messages, [{"id": product.id, "risk": product.risk}],
                                "worry", tracker.get_slot("emotion"))
    dispatcher.utter_message(response="utter_offer_advisor")
    return True


class ActionBookAdvisor(Action):
    """Book a talk with an advisor (time to be agreed, about holdings and allocation); stored
    and shown in the copilot. The rehearsal books nothing."""

    def name(self) -> str:
        return "action_book_advisor"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        party = party_of(tracker)
        if refuse_unidentified(dispatcher, party):
            return []
        language = language_of(tracker)
        made = None if party.shadow else bookings.book_advisor(party.customer_id, None, None, language)
        dispatcher.utter_message(text=bookings.booking_message(party.customer_id, language, just_made=made))
        return []


class ActionAllocationReport(Action):
    """The personal allocation report: made, stored and linked (signed, expiring); every text in
    it passed the guard, or no report is made."""

    def name(self) -> str:
        return "action_allocation_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        party = party_of(tracker)
        if refuse_unidentified(dispatcher, party):
            return []
        language = language_of(tracker)
        try:
            made = reports.create_report(party.customer_id, language)
        except ReportBlocked:
            dispatcher.utter_message(response="utter_report_unavailable")
            return []
        audit_new_flags(party, made.flags)
        link = f"{settings.public_url()}{REPORT_PATH}{made.token}"
        expires = made.expires_at.astimezone(settings.bank_timezone()).strftime("%Y-%m-%d %H:%M")
        dispatcher.utter_message(response="utter_report_link", link=link, pdf_link=f"{link}/pdf", expires=expires)
        return []
