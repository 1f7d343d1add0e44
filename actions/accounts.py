"""Balance and transfer actions over the account store (``bot.accounts``).

Who the customer is comes from ``actions.common.party_of`` (what the channel vouched for),
never from a slot. A transfer carries an idempotency key from the moment it is put to the
customer for confirmation, so a retried or repeated confirmation moves money once; once
today's transfers with this one pass the step-up threshold a one-time code pushed to the bank
app must be entered first, a code bound to this customer, key, amount and payee and spent by
the one transfer it confirms (``bot.identity.otp``; the Rasa server checks and masks the typed
code, ``bot.rasa_ext.step_up_door``); and a confirmation the Rasa server has already given up
on (it answered "service busy") is never executed late: the transfer is then reported
truthfully at the next opportunity instead.

Payees must be named exactly and amounts be one well-formed positive number
(``bot.accounts.payees``, ``bot.accounts.amounts``), read from the slot and from the whole
message, since the entity extractor may hand over only part of what was typed ("张三" out of
"张三三", "100" out of "−100"); what is wrong is said (texts in bot/identity/texts.yml).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import joined, language_of, party_of, refuse_unidentified
from actions.knowledge import answer_from_knowledge, answer_question_instead
from bot import settings
from bot.accounts import limits, store
from bot.accounts.amounts import MAX_AMOUNT, AmountReading, parse_amount, read_amount
from bot.accounts.changes import Change, read_change
from bot.accounts.payees import PayeeMatch
from bot.dialogue.message_shape import is_question, too_short
from bot.identity import delivery, otp
from bot.identity.party import Party

logger = logging.getLogger(__name__)
CONFIRMATION_ACTION = "action_ask_transfer_confirmation"
STEP_UP_FORM = "step_up_form"
STEP_UP_FAILED = "failed"  # the form ends; the transfer it guarded is cancelled, already said
# What the transfer form's own actions return to end it for somebody it may not serve.
FORM_REFUSED = [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("payee", None), SlotSet("amount", None)]
# The execution must finish this long before the Rasa server's own deadline, or not at all.
DEADLINE_MARGIN_SECONDS = 1.5


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


def _called_at(tracker: Tracker) -> float | None:
    """When the Rasa server called this action, near enough: the time of the tracker's newest
    event (it calls right after applying it). Its timeout runs per action call."""
    stamps = [event.get("timestamp") for event in tracker.events if event.get("timestamp")]
    return max(stamps) if stamps else None


def _too_late(tracker: Tracker) -> bool:
    """True when the Rasa server has (nearly) stopped waiting for this action."""
    called = _called_at(tracker)
    deadline = settings.action_timeout_seconds() - DEADLINE_MARGIN_SECONDS
    return called is not None and time.time() - called > deadline


def _step_up_purpose(customer_id: str | None, pending: dict) -> str | None:
    """What a step-up code is for (bot.identity.otp): this customer's transfer with this
    idempotency key, amount and payee, and nothing else."""
    return otp.step_up_purpose(customer_id, pending)


def _say(dispatcher: CollectingDispatcher, tracker: Tracker, name: str, **values: str) -> None:
    """Say the text ``name`` of bot/identity/texts.yml in the conversation's language."""
    dispatcher.utter_message(text=delivery.text(name, language_of(tracker), **values))


def _typed(tracker: Tracker) -> str | None:
    """What the customer typed this turn (None for a button's payload)."""
    text = (tracker.latest_message or {}).get("text")
    return text if isinstance(text, str) and text and not text.startswith("/") else None


def _pending(tracker: Tracker) -> dict:
    pending = tracker.get_slot("pending_transfer")
    return pending if isinstance(pending, dict) else {}


def report_unannounced_transfer(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """If the confirmed transfer still parked in this conversation did go through (its answer
    never reached the customer: the Rasa server had answered "service busy"), say so now."""
    pending = _pending(tracker)
    customer = party_of(tracker).customer_id
    done = store.find_transfer(pending["key"], customer) if pending.get("key") and customer else None
    if done is None:
        return []
    dispatcher.utter_message(response="utter_transfer_done_earlier", payee=done.payee,
                             amount=_money(store.from_fen(done.amount_fen)))
    return [SlotSet("pending_transfer", None)]


class ActionCheckBalance(Action):
    def name(self) -> str:
        return "action_check_balance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        account = _account_or_refusal(dispatcher, party_of(tracker))
        if account is None:
            return []
        events = report_unannounced_transfer(dispatcher, tracker)
        dispatcher.utter_message(response="utter_balance", balance=_money(account.balance),
                                 currency=account.currency, account_tail=account.account_tail)
        return events


class ActionAskPayee(Action):
    """Ask for the payee, listing the saved payees (only saved payees can be paid)."""

    def name(self) -> str:
        return "action_ask_payee"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        account = _account_or_refusal(dispatcher, party_of(tracker))
        if account is None:
            return FORM_REFUSED
        events = report_unannounced_transfer(dispatcher, tracker)
        dispatcher.utter_message(response="utter_ask_payee", payees=joined(tracker, account.payees))
        return events


class ValidateTransferForm(FormValidationAction):
    """Accept only a saved payee and a positive amount the customer can afford; nobody
    unidentified (an unbound WeChat follower) and nobody without an account gets the form."""

    def name(self) -> str:
        return "validate_transfer_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        if _account_or_refusal(dispatcher, party_of(tracker)) is None:
            return FORM_REFUSED
        return await super().run(dispatcher, tracker, domain)

    async def validate_payee(self, slot_value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if answer_question_instead(dispatcher, tracker, "payee"):
            return {"payee": None}
        customer = party_of(tracker).customer_id
        return {"payee": _checked_payee(dispatcher, tracker, customer, _as_text(slot_value))}

    async def validate_amount(self, slot_value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if answer_question_instead(dispatcher, tracker, "amount"):
            return {"amount": None}
        account = store.account(party_of(tracker).customer_id)
        amount = _checked_amount(dispatcher, tracker, account, _as_text(slot_value))
        return {"amount": None if amount is None else str(amount)}


def _payee_named(customer: str, tracker: Tracker, text: str | None) -> PayeeMatch:
    """The saved payee ``text`` (the slot) names exactly, agreeing with the whole message: a
    name the entity extractor cut out of a longer one ("张三" of "给张三三转100") is no match."""
    found = store.payee_match(customer, text)
    typed = _typed(tracker)
    if found.name and typed and typed != text:
        in_message = store.payee_match(customer, typed)
        if in_message.name != found.name:
            return PayeeMatch(None, in_message.near or (found.name,))
    return found


def _checked_payee(dispatcher: CollectingDispatcher, tracker: Tracker, customer: str, text: str | None) -> str | None:
    """The saved payee ``text`` names exactly, or None after asking which one: a near miss
    ("张三三" for 张三) is asked about, never taken. Nothing is echoed for a message with no
    name in it (an emoji, "a": bot.dialogue.message_shape) — the form simply asks again."""
    found = _payee_named(customer, tracker, text)
    if found.name is not None:
        return found.name
    if not found.near and (not text or text.startswith("/") or too_short(text)):
        return None
    _say_payee_problem(dispatcher, tracker, store.account(customer), found, text)
    return None


def _say_payee_problem(dispatcher: CollectingDispatcher, tracker: Tracker, account: store.AccountView,
                       found: PayeeMatch, text: str | None) -> None:
    """Say why ``text`` names no saved payee: which of several, did you mean, or unknown."""
    payees = joined(tracker, account.payees)
    if len(found.near) > 1:
        _say(dispatcher, tracker, "payee_several", near=joined(tracker, found.near))
    elif found.near:
        _say(dispatcher, tracker, "payee_did_you_mean", near=found.near[0], payees=payees)
    else:
        dispatcher.utter_message(response="utter_unknown_payee", payee=text or "", payees=payees)


# What is wrong with an amount -> the text that says so (None: the domain's utter_invalid_amount).
AMOUNT_PROBLEMS = {"negative": "amount_negative", "malformed": "amount_malformed",
                   "not_positive": "amount_not_positive", "several": "amount_several",
                   "too_large": "amount_too_large"}
# A problem the whole message shows that the slot's reading may have missed: the extractor
# handed over one of two amounts ("200" of "转100还是200"), a number without its sign or its
# unit ("1万" of "1万亿"), part of a malformed one.
MESSAGE_PROBLEMS = ("negative", "malformed", "several", "too_large")


def _amount_read(tracker: Tracker, text: str | None) -> AmountReading:
    """The amount in ``text`` (the slot), unless the whole message shows it was misread: a sign
    or a malformed grouping the entity extractor left out ("100" of "−100", "1," of "1,000,0"),
    another amount beside it ("200" of "转100还是200": asked which, never one picked), a unit
    it cut off ("1万" of "1万亿")."""
    reading = read_amount(text)
    typed = _typed(tracker)
    if typed and typed != text:
        in_message = read_amount(typed)
        if in_message.problem in MESSAGE_PROBLEMS:
            return in_message
    return reading


def _checked_amount(dispatcher: CollectingDispatcher, tracker: Tracker, account: store.AccountView,
                    text: str | None) -> Decimal | None:
    """A positive amount the account can pay, or None after saying what is wrong with it."""
    return _amount_or_problem(dispatcher, tracker, account, _amount_read(tracker, text))


def _amount_or_problem(dispatcher: CollectingDispatcher, tracker: Tracker, account: store.AccountView,
                       reading: AmountReading) -> Decimal | None:
    """The amount of ``reading`` if the account can pay it, or None after saying what is wrong."""
    amount = reading.value
    if amount is None:
        problem = AMOUNT_PROBLEMS.get(reading.problem or "")
        if problem:
            _say(dispatcher, tracker, problem, typed=reading.typed, limit=_money(MAX_AMOUNT))
        else:
            dispatcher.utter_message(response="utter_invalid_amount")
        return None
    if amount > account.balance:
        dispatcher.utter_message(response="utter_insufficient_funds", amount=_money(amount),
                                 balance=_money(account.balance), currency=account.currency)
        return None
    return amount


def _account_or_refusal(dispatcher: CollectingDispatcher, party: Party) -> store.AccountView | None:
    """The party's account, read once; None after saying why there is none (not signed in or
    bound, or no account with the bank)."""
    if refuse_unidentified(dispatcher, party):
        return None
    account = store.account(party.customer_id)
    if account is None:
        dispatcher.utter_message(response="utter_no_account")
    return account


class ActionAskTransferConfirmation(Action):
    """Park the validated transfer in ``pending_transfer`` with a fresh idempotency key and
    ask the customer to confirm. Run again at the confirmation question (data/rules):

    - after a question was answered there (the daily limit, the balance): the SAME
      confirmation is asked again, same key, so a later "确认" runs exactly that transfer;
    - after a change of mind ("make that 300 instead of 250", "actually send it to Alice",
      "改成给王芳"): the new value is read from the whole message with the old one it names
      taken out (``bot.accounts.changes``), checked as the form would, the rest kept, and the
      new question carries a new key, so only the changed transfer can be confirmed;
    - when the new value is missing or wrong ("金额改一下", an amount above the balance): what
      is wrong is said and the value asked for, and until it is given nothing is confirmable
      (the parked transfer has no key: a "yes" meanwhile moves nothing)."""

    def name(self) -> str:
        return CONFIRMATION_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        reset = [SlotSet("payee", None), SlotSet("amount", None)]
        party = party_of(tracker)
        account = store.account(party.customer_id) if party.identified else None
        if account is None:
            return reset  # the form was refused and said why
        events = report_unannounced_transfer(dispatcher, tracker)
        earlier = {} if events or _last_action(tracker) == "transfer_form" else _pending(tracker)
        if earlier.get("payee") and earlier.get("amount"):
            return events + reset + _ask_again_or_change(dispatcher, tracker, account, party.customer_id, earlier)
        payee, amount = tracker.get_slot("payee"), parse_amount(tracker.get_slot("amount"))
        if not payee or amount is None:
            dispatcher.utter_message(response="utter_no_pending_transfer")
            return events + reset + [SlotSet("pending_transfer", None)]
        return events + reset + _confirm(dispatcher, account, payee, amount)


# Intents whose message may carry a new amount or payee at the confirmation question (a bare
# "300" is nlu_fallback: too short outside a form); after any other (a question answered by
# action_answer_digression) the same confirmation is asked again.
CHANGE_INTENTS = ("inform", "transfer_money", "nlu_fallback")


def _last_action(tracker: Tracker) -> str | None:
    """The action run just before this one in the current turn (or action_listen)."""
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") not in ("action_extract_slots", "action_sense_message"):
            return event.get("name")
    return None


def _confirm(dispatcher: CollectingDispatcher, account: store.AccountView, payee: str,
             amount: Decimal, key: str | None = None) -> list[dict[str, Any]]:
    """Ask to confirm this transfer; a new key unless the very same question is asked again."""
    dispatcher.utter_message(response="utter_confirm_transfer", payee=payee, amount=_money(amount),
                             currency=account.currency)
    return [SlotSet("pending_transfer", {"payee": payee, "amount": str(amount), "key": key or uuid.uuid4().hex})]


def _ask_for(dispatcher: CollectingDispatcher, tracker: Tracker, account: store.AccountView, field: str,
             payee: str, amount: Decimal, *, already_said: bool = False) -> list[dict[str, Any]]:
    """Ask for the new ``field`` ("amount" / "payee") of the transfer being changed, parked
    without a key: nothing is confirmable until the customer has given it."""
    if not already_said:
        if field == "amount":
            dispatcher.utter_message(response="utter_ask_amount")
        else:
            dispatcher.utter_message(response="utter_ask_payee", payees=joined(tracker, account.payees))
    return [SlotSet("pending_transfer", {"payee": payee, "amount": str(amount), "changing": field})]


def _ask_again_or_change(dispatcher: CollectingDispatcher, tracker: Tracker, account: store.AccountView,
                         customer: str, earlier: dict) -> list[dict[str, Any]]:
    payee, amount = earlier["payee"], parse_amount(earlier["amount"])
    changing = earlier.get("changing")
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    typed = _typed(tracker)
    text = typed or " ".join(filter(None, (_as_text(tracker.get_slot("payee")), _as_text(tracker.get_slot("amount")))))
    change = read_change(text, account.payees, amount) if intent in CHANGE_INTENTS else Change()
    extracted = _as_text(tracker.get_slot("payee")) if intent in CHANGE_INTENTS else None
    if change.payee is None and extracted:  # a name the NLU found that is no saved payee ("to Alicia")
        change = Change(change.amount, store.payee_match(customer, extracted), None)
    if change.nothing:
        if intent in CHANGE_INTENTS and typed and is_question(typed):  # a question read as an answer
            answer_transfer_question(dispatcher, tracker, typed)
        elif intent == "nlu_fallback":  # not understood: say so, then the same question again
            dispatcher.utter_message(response="utter_default")
        if changing:
            return _ask_for(dispatcher, tracker, account, changing, payee, amount)
        return _confirm(dispatcher, account, payee, amount, key=earlier.get("key"))
    wrong = None  # the field whose new value is missing or refused, already said why
    if change.payee is not None:
        if change.payee.name:
            payee = change.payee.name
        else:
            _say_payee_problem(dispatcher, tracker, account, change.payee, extracted or text)
            wrong = "payee"
    if change.amount is not None:
        checked = _amount_or_problem(dispatcher, tracker, account, change.amount)
        if checked is None:
            wrong = wrong or "amount"
        else:
            amount = checked
    if wrong:
        return _ask_for(dispatcher, tracker, account, wrong, payee, amount, already_said=True)
    asks = change.asks or (changing if (changing == "amount" and change.amount is None)
                           or (changing == "payee" and change.payee is None) else None)
    if asks:
        return _ask_for(dispatcher, tracker, account, asks, payee, amount)
    return _confirm(dispatcher, account, payee, amount)


def answer_transfer_question(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> None:
    """A question asked in the middle of a transfer: the transfer limits from the customer's own
    account and the bank's settings when it asks about them, else the knowledge base."""
    if not answer_limits(dispatcher, tracker, text):
        answer_from_knowledge(dispatcher, tracker, text)


def answer_limits(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> bool:
    """Say the daily transfer limit (the account's own, else ``ANXIN_DAILY_TRANSFER_LIMIT``), what
    is left of it today and the step-up threshold, when ``text`` asks about transfer limits
    (``bot.accounts.limits``); True when it did."""
    customer = party_of(tracker).customer_id
    facts = limits.facts(customer) if customer and limits.asks_about_limits(text) else None
    if facts is None:
        return False
    dispatcher.utter_message(response="utter_transfer_limits", limit=_money(facts.limit), spent=_money(facts.spent),
                             left=_money(facts.left), threshold=_money(facts.threshold), currency=facts.currency)
    return True


class ActionExecuteTransfer(Action):
    """Run the pending transfer, but only as the direct answer to the confirmation question
    (or to the step-up code that followed it), so a stray "yes" later in the conversation
    can never move money; once per idempotency key; never after the Rasa server gave up.

    The step-up code is asked for the day's running total: once today's transfers with this
    one pass the threshold (``store.needs_step_up``; decided again under the account's lock,
    ``step_up_over``). Only this customer's verification of a code bound to this very
    transfer (key, amount, payee) counts, and running the transfer spends it."""

    def name(self) -> str:
        return "action_execute_transfer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        party = party_of(tracker)
        pending = _pending(tracker)
        clear = [SlotSet("pending_transfer", None)]
        if refuse_unidentified(dispatcher, party):
            return clear
        if tracker.get_slot("step_up_code") == STEP_UP_FAILED:
            return clear + [SlotSet("step_up_code", None)]
        announced = report_unannounced_transfer(dispatcher, tracker)
        if announced:
            return announced
        amount = parse_amount(pending.get("amount"))
        key = pending.get("key")
        purpose = _step_up_purpose(party.customer_id, pending)
        stepped_up = purpose is not None and otp.verified(purpose, party.customer_id)
        if amount is None or not key or purpose is None or (
                _action_before_latest_message(tracker) != CONFIRMATION_ACTION and not stepped_up):
            dispatcher.utter_message(response="utter_no_pending_transfer")
            return clear
        if party.shadow:  # the copilot's rehearsal: show what would happen, move nothing
            dispatcher.utter_message(response="utter_transfer_rehearsal", payee=pending["payee"],
                                     amount=_money(amount))
            return clear
        if not stepped_up and store.needs_step_up(party.customer_id, amount):
            return await _start_step_up(dispatcher, tracker, party.customer_id, pending, amount)
        if stepped_up and not otp.redeem(purpose, party.customer_id):  # spent by a concurrent call
            dispatcher.utter_message(response="utter_no_pending_transfer")
            return clear
        if _too_late(tracker):
            logger.warning("Transfer %s not executed: the Rasa server stopped waiting for this turn", key)
            return []
        outcome = store.transfer(party.customer_id, pending["payee"], amount, key,
                                 step_up_over=None if stepped_up else settings.step_up_threshold())
        if outcome.status == "step_up_required":  # another transfer got in first: now a code is needed
            return await _start_step_up(dispatcher, tracker, party.customer_id, pending, amount)
        if outcome.status == "ok":
            dispatcher.utter_message(response="utter_transfer_done", payee=outcome.payee,
                                     amount=_money(amount), balance=_money(outcome.balance),
                                     currency=outcome.currency)
        elif outcome.status == "already_done":
            dispatcher.utter_message(response="utter_transfer_done_earlier", payee=outcome.payee,
                                     amount=_money(amount))
        elif outcome.status == "insufficient_funds":
            dispatcher.utter_message(response="utter_transfer_failed_funds",
                                     balance=_money(outcome.balance), currency=outcome.currency)
        elif outcome.status == "over_daily_limit":
            dispatcher.utter_message(response="utter_transfer_over_limit", left=_money(outcome.limit_left),
                                     currency=outcome.currency)
        elif outcome.status == "unknown_transfer":
            dispatcher.utter_message(response="utter_no_pending_transfer")
        else:
            payees = store.account(party.customer_id).payees
            dispatcher.utter_message(response="utter_unknown_payee", payee=pending["payee"],
                                     payees=joined(tracker, payees))
        return clear


async def _start_step_up(dispatcher: CollectingDispatcher, tracker: Tracker, customer_id: str,
                         pending: dict, amount: Decimal) -> list[dict[str, Any]]:
    """Push a one-time code for exactly this transfer to the customer's app and open the form
    that asks for it; when the amount alone is under the threshold, say it is the day's total."""
    code = otp.issue(_step_up_purpose(customer_id, pending), customer_id)
    message = delivery.text("step_up_code", language_of(tracker), code=code, payee=pending["payee"],
                            amount=_money(amount))
    try:
        await asyncio.to_thread(delivery.send, "app_push", customer_id, message)
    except delivery.DeliveryError as error:
        logger.error("Step-up code not delivered: %s", error)
        dispatcher.utter_message(response="utter_step_up_unavailable")
        return [SlotSet("pending_transfer", None)]
    threshold = settings.step_up_threshold()
    if amount <= threshold:
        total = store.transferred_today(customer_id) + amount
        _say(dispatcher, tracker, "step_up_running_total", total=_money(total), threshold=_money(threshold))
    return [SlotSet("step_up_code", None), FollowupAction(STEP_UP_FORM)]


class ValidateStepUpForm(FormValidationAction):
    """Take the outcome of the code the customer typed; three wrong codes cancel the transfer.

    The Rasa server checked the typed code and masked it before the conversation kept it
    (``bot.rasa_ext.step_up_door``): the slot holds ``otp.TYPED_CODE_MASK``, and the outcome
    is read from the bank database for this customer and this transfer. Digits without the mask
    (a client that came round the door) are checked here as typed; a message with no digits at
    all (the "确认" that opened the form, a question) is no try and the code is asked again."""

    def name(self) -> str:
        return "validate_step_up_form"

    async def validate_step_up_code(self, slot_value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        customer = party_of(tracker).customer_id
        purpose = _step_up_purpose(customer, _pending(tracker))
        typed = str(slot_value or "")
        if purpose is None:
            result = otp.Check("none")
        elif otp.TYPED_CODE_MASK in typed:
            result = otp.status(purpose, customer)
        else:
            digits = "".join(ch for ch in typed if ch.isdigit())
            if not digits:  # no try ("确认" that opened the form, a question): ask again, uncounted
                return {"step_up_code": None}
            logger.warning("A step-up code reached the action server unmasked (conversation %s)",
                           tracker.sender_id)
            result = otp.check(purpose, digits, customer)
        if result.status == "ok":
            return {"step_up_code": "verified"}
        if result.status == "pending":  # no try was made (the mask typed by hand): ask again
            return {"step_up_code": None}
        if result.status == "wrong":
            dispatcher.utter_message(response="utter_step_up_wrong_code", attempts=str(result.attempts_left))
            return {"step_up_code": None}
        if result.status == "expired":
            _say(dispatcher, tracker, "step_up_expired")
        elif result.status == "none" and purpose is not None:
            _say(dispatcher, tracker, "step_up_not_for_this")
        else:
            dispatcher.utter_message(response="utter_step_up_failed")
        return {"step_up_code": STEP_UP_FAILED, "pending_transfer": None}


class ActionCancelTransfer(Action):
    def name(self) -> str:
        return "action_cancel_transfer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_transfer_cancelled")
        return [SlotSet("payee", None), SlotSet("amount", None), SlotSet("pending_transfer", None),
                SlotSet("step_up_code", None)]
