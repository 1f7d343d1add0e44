"""The action server checks a call that reads a customer's data or moves their money against the
conversation the Rasa server stored, not against the posted tracker alone.

A signed call (``bot.service_auth``) proves it came from a holder of ``ANXIN_ACTION_SECRET``; if
that secret leaked, or a Rasa host were taken over, the tracker in the body could still name any
conversation and any pending transfer. So before a watched action runs, one indexed read of the
tracker store the Rasa server writes (``ANXIN_TRACKER_DB_URL``; table ``events``, indexed by
``sender_id``) fetches the conversation's newest stored event and, for a transfer, its newest
``pending_transfer`` value, and:

- **the call must continue the stored conversation**: the newest stored event (its type and its
  timestamp, to the microsecond) must be among the posted events. The Rasa server stores a turn
  when the turn ends, so a call in the middle of a turn always carries the previous turn's last
  event (``ANXIN_ACTION_TURNS`` 0 or at least 2); a caller who is not that Rasa server does not
  know it. A conversation with nothing stored yet is accepted only as a first turn (one customer
  message in the call);
- **a transfer must be the one the stored conversation holds**: the posted ``pending_transfer``
  (payee, amount, idempotency key) must equal the stored one. A transfer can only be pending
  after a turn was stored, so a forged first turn moves no money.

Refused calls move nothing, are answered 403 (the Rasa server says "service busy") and get an
``action_refused`` audit record ("refused: tracker mismatch ..."); every watched call that passes
gets a ``customer_data`` record naming the action. What it cannot stop: a caller who holds the
secret *and* reads the tracker database. The watched actions are listed here, in one place.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot import db, metrics, settings

logger = logging.getLogger(__name__)

PENDING_SLOT = "pending_transfer"
MONEY_ACTIONS = frozenset({"action_execute_transfer"})
# Actions that read a customer's accounts, payees, holdings, risk profile or reports, or act on them.
DATA_ACTIONS = frozenset({
    "action_check_balance", "action_ask_payee", "validate_transfer_form", "action_ask_transfer_confirmation",
    "validate_step_up_form", "action_holdings_summary", "action_allocation_report", "action_book_advisor",
    "action_show_risk_profile", "action_complete_risk_assessment", "action_suggest_products",
    "action_answer_digression", "action_market_facts"}) | MONEY_ACTIONS
# The newest event, and the newest event that set the pending transfer or reset every slot.
_QUERY = text(
    "SELECT 'latest' AS what, type_name, data FROM "
    "(SELECT type_name, data FROM events WHERE sender_id = :sender ORDER BY id DESC LIMIT 1) AS latest "
    "UNION ALL SELECT 'pending' AS what, type_name, data FROM "
    "(SELECT type_name, data FROM events WHERE sender_id = :sender AND :money = 1 AND "
    "((type_name = 'slot' AND action_name = :slot) OR type_name IN ('restart', 'reset_slots', 'session_started')) "
    "ORDER BY id DESC LIMIT 1) AS pending")

REFUSED_AUDIT_DETAIL = "refused: tracker mismatch"


class CallRefused(Exception):
    """A watched action call that does not match the stored conversation."""

    def __init__(self, action: str, reason: str) -> None:
        super().__init__(f"{action}: {reason}")
        self.action, self.reason = action, reason


@dataclass(frozen=True)
class Stored:
    """What the tracker store holds of one conversation: its newest event and, when asked for,
    its newest pending transfer (None: none pending)."""

    latest: dict | None
    pending: dict | None


def watched(action: object) -> bool:
    return isinstance(action, str) and action in DATA_ACTIONS


def stored(sender_id: str, money: bool) -> Stored:
    """One indexed read of the conversation's newest stored event (and newest pending transfer)."""
    latest = pending = None
    with db.engine(settings.tracker_db_url()).connect() as connection:
        rows = connection.execute(_QUERY, {"sender": sender_id, "money": 1 if money else 0, "slot": PENDING_SLOT})
        for what, type_name, data in rows:
            event = json.loads(data) if data else {"event": type_name}
            if what == "latest":
                latest = event
            elif type_name == "slot" and isinstance(event.get("value"), dict):
                pending = event["value"]
    return Stored(latest, pending)


def _posted_pending(tracker: dict) -> dict | None:
    value = (tracker.get("slots") or {}).get(PENDING_SLOT)
    return value if isinstance(value, dict) and value else None


def mismatch(action: str, tracker: dict, found: Stored) -> str | None:
    """Why the posted tracker is not the stored conversation's continuation, or None."""
    events = tracker.get("events") if isinstance(tracker.get("events"), list) else []
    if found.latest is None:
        if sum(1 for e in events if isinstance(e, dict) and e.get("event") == "user") != 1:
            return "no stored conversation, and the call is not a first turn"
    else:
        kind, stamp = found.latest.get("event"), found.latest.get("timestamp")
        if not any(isinstance(e, dict) and e.get("event") == kind and e.get("timestamp") == stamp for e in events):
            return "the stored conversation's newest event is not in the call"
    posted = _posted_pending(tracker)
    if action in MONEY_ACTIONS and posted is not None and posted != found.pending:
        return "the pending transfer is not the stored one"
    return None


def _party(sender_id: str, events: list) -> tuple[str, str | None]:
    """(customer the call acts for, or the conversation id when nobody is identified; channel)."""
    from bot.identity.party import resolve

    for event in reversed(events):
        if isinstance(event, dict) and event.get("event") == "user":
            party = resolve(sender_id, event.get("input_channel"), event.get("metadata"))
            return party.customer_id or sender_id, party.channel
    return sender_id, None


def admit(action_call: dict) -> None:
    """Check one call of a watched action (``watched``) and audit it; raises ``CallRefused``.
    Blocking (database): the action server runs it in a thread."""
    from bot.compliance import audit

    action = action_call.get("next_action")
    tracker = action_call.get("tracker") if isinstance(action_call.get("tracker"), dict) else {}
    sender = tracker.get("sender_id") if isinstance(tracker.get("sender_id"), str) else ""
    events = tracker.get("events") if isinstance(tracker.get("events"), list) else []
    try:
        reason = mismatch(action, tracker, stored(sender, action in MONEY_ACTIONS)) if sender else "no sender id"
    except SQLAlchemyError as error:  # fail closed: nothing is read or moved unchecked
        logger.error("Tracker store unreadable, %s refused: %s", action, error)
        reason = "the tracker store could not be read"
    customer, channel = _party(sender, events)
    if reason:
        metrics.ACTION_CALLS_REFUSED.labels("tracker_mismatch").inc()
        logger.warning("Action call refused: %s for %s: %s", action, customer, reason,
                       extra={"event": "action_call_refused", "action": action, "reason": "tracker_mismatch"})
        audit.record(customer, "action_refused", detail=f"{REFUSED_AUDIT_DETAIL} ({reason}): {action}")
        raise CallRefused(action, reason)
    detail = f"{action} on {channel or 'no'} channel"
    pending = _posted_pending(tracker)
    if action in MONEY_ACTIONS and pending:
        detail += f", pending transfer of {pending.get('amount')} to {pending.get('payee')} (key {pending.get('key')})"
    audit.record(customer, "customer_data", detail=detail)
