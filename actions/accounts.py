"""Balance and transfer actions over the demo account store (``bot.accounts``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import joined
from bot.accounts import store
from bot.accounts.amounts import parse_amount

CONFIRMATION_ACTION = "action_ask_transfer_confirmation"


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _as_text(value: Any) -> str | None:
    """Slot candidates may arrive as a list when an entity was extracted twice."""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return None if value is None else str(value)


def _action_before_latest_message(tracker: Tracker) -> str | None:
    """Name of the last bot action before the customer's latest message."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") not in (
                "action_listen", "action_extract_slots", "action_sense_message"):
            return event.get("name")
    return None


class ActionCheckBalance(Action):
    def name(self) -> str:
        return "action_check_balance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        account = store.account(tracker.sender_id)
        dispatcher.utter_message(response="utter_balance", balance=_money(account.balance),
                                 currency=account.currency, account_tail=account.account_tail)
        return []


class ActionAskPayee(Action):
    """Ask for the payee, listing the saved payees (only saved payees can be paid)."""

    def name(self) -> str:
        return "action_ask_payee"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        payees = store.account(tracker.sender_id).payees
        dispatcher.utter_message(response="utter_ask_payee", payees=joined(tracker, payees))
        return []


class ValidateTransferForm(FormValidationAction):
    """Accept only a saved payee and a positive amount the customer can afford."""

    def name(self) -> str:
        return "validate_transfer_form"

    async def validate_payee(self, slot_value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        text = _as_text(slot_value)
        payee = store.find_payee(tracker.sender_id, text)
        if payee is None:
            payees = store.account(tracker.sender_id).payees
            dispatcher.utter_message(response="utter_unknown_payee", payee=text or "",
                                     payees=joined(tracker, payees))
        return {"payee": payee}

    async def validate_amount(self, slot_value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        amount = parse_amount(_as_text(slot_value))
        if amount is None:
            dispatcher.utter_message(response="utter_invalid_amount")
            return {"amount": None}
        account = store.account(tracker.sender_id)
        if amount > account.balance:
            dispatcher.utter_message(response="utter_insufficient_funds", amount=_money(amount),
                                     balance=_money(account.balance), currency=account.currency)
            return {"amount": None}
        return {"amount": str(amount)}


class ActionAskTransferConfirmation(Action):
    """Park the validated transfer in ``pending_transfer`` and ask the customer to confirm."""

    def name(self) -> str:
        return CONFIRMATION_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        payee, amount = tracker.get_slot("payee"), parse_amount(tracker.get_slot("amount"))
        reset = [SlotSet("payee", None), SlotSet("amount", None)]
        if not payee or amount is None:
            dispatcher.utter_message(response="utter_no_pending_transfer")
            return reset + [SlotSet("pending_transfer", None)]
        currency = store.account(tracker.sender_id).currency
        dispatcher.utter_message(response="utter_confirm_transfer", payee=payee,
                                 amount=_money(amount), currency=currency)
        return reset + [SlotSet("pending_transfer", {"payee": payee, "amount": str(amount)})]


class ActionExecuteTransfer(Action):
    """Run the pending transfer, but only as the direct answer to the confirmation question,
    so a stray "yes" later in the conversation can never move money."""

    def name(self) -> str:
        return "action_execute_transfer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        pending = tracker.get_slot("pending_transfer") or {}
        clear = [SlotSet("pending_transfer", None)]
        amount = parse_amount(pending.get("amount")) if isinstance(pending, dict) else None
        if amount is None or _action_before_latest_message(tracker) != CONFIRMATION_ACTION:
            dispatcher.utter_message(response="utter_no_pending_transfer")
            return clear
        outcome = store.transfer(tracker.sender_id, pending["payee"], amount)
        if outcome.status == "ok":
            dispatcher.utter_message(response="utter_transfer_done", payee=outcome.payee,
                                     amount=_money(amount), balance=_money(outcome.balance),
                                     currency=outcome.currency)
        elif outcome.status == "insufficient_funds":
            dispatcher.utter_message(response="utter_transfer_failed_funds",
                                     balance=_money(outcome.balance), currency=outcome.currency)
        else:
            payees = store.account(tracker.sender_id).payees
            dispatcher.utter_message(response="utter_unknown_payee", payee=pending["payee"],
                                     payees=joined(tracker, payees))
        return clear


class ActionCancelTransfer(Action):
    def name(self) -> str:
        return "action_cancel_transfer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_transfer_cancelled")
        return [SlotSet("payee", None), SlotSet("amount", None), SlotSet("pending_transfer", None)]
