"""Run every outgoing bot message through the compliance guard, inside the Rasa server.

``MessageProcessor._send_bot_messages`` is the one place every BotUttered passes before a
channel sends it: response templates, forms, custom actions and slot-mapping actions alike.
Wrapping it means no action and no template can bypass the guard. The guard reads the whole
message as the channel receives it (``BotUttered.message()``: text, buttons, quick replies,
custom JSON, image, attachment, elements). A message that breaks a rule is replaced (in the
event itself, so the tracker keeps what the customer really saw) by the rules file's blocked
reply, with nothing else attached, and the block is audited. Every message gets an id
(BotUttered metadata ``message_id``); the records of what a customer was shown (suggestion,
warning, mismatch: asked for by the actions with ``audit.when_shown``) and handoffs, whichever
action sent them, are written here with that id once the message passed and was sent.

Who installs it: ``processor_patches.install``, called by the launcher (``bot.rasa_ext.server``)
first thing and, so that a plain ``rasa run`` cannot serve unguarded, by every module Rasa
itself imports to load this project: the model's policy and NLU component (``safety_policy``,
``too_short``: config.yml) and the tracker and lock stores (``stores``: endpoints.yml).
``status()`` tells /health/ready whether it is in place and which rules version is in force;
the launcher's start-up check refuses to serve without it (``bot.rasa_ext.server``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from typing import Any

from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered, UserUttered

from bot import metrics
from bot.compliance import audit, catalogue, guard, risk_profile, rulebook
from bot.compliance.outgoing import CONTENT_KEYS, Outgoing
from bot.rasa_ext import speed

logger = logging.getLogger(__name__)
HANDOFF_RESPONSE = "utter_handoff"

_original_send = MessageProcessor._send_bot_messages


def _texts_earlier_in_turn(tracker: Any, batch: list) -> list[str]:
    """Bot texts already sent since the customer's latest message, excluding ``batch``."""
    in_batch = {id(event) for event in batch}
    texts: list[str] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered) and id(event) not in in_batch and event.text:
            texts.append(event.text)
    return texts[::-1]


def _block(event: BotUttered, language: str | None) -> None:
    """Only the blocked reply goes out: every other part is dropped, from the data and from the
    metadata too (``BotUttered.message()`` lets metadata keys override the data's)."""
    event.text = guard.blocked_reply(language)
    event.data = {key: None for key in CONTENT_KEYS if key != "text"}
    event.metadata = {k: v for k, v in (event.metadata or {}).items() if k not in CONTENT_KEYS}


def _audit_handoff(tracker: Any, message_id: str) -> None:
    profile = risk_profile.current(tracker.sender_id)
    intent = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
    audit.record(tracker.sender_id, "handoff", c_level=profile.level if profile else None,
                 emotion=tracker.get_slot("emotion") if "emotion" in tracker.slots else None,
                 detail=f"last intent: {intent}", message_id=message_id)


def _take_audit_request(event: BotUttered) -> Any:
    """The action's request for a record of what was shown (``audit.when_shown``), taken out
    of the message: it is for the audit trail, not for the customer or the guard."""
    return (event.metadata or {}).pop(audit.SHOWN_KEY, None)


def _write_shown(request: Any, message_id: str, sender_id: str) -> None:
    try:
        audit.record_shown(request, message_id)
    except ValueError as refused:  # an action's mistake: logged loudly, the customer still answered
        logger.error("An action asked for a malformed audit record for %s: %s", sender_id, refused)


def _products_named(message: Outgoing) -> set[str]:
    """Ids of the products a message names anywhere (text, buttons, custom JSON...)."""
    return {p.id for text in (message.text, *(part.text for part in message.extras))
            for p in catalogue.named_in(text)}


def _only_shown(request: Any, shown: set[str], sender_id: str) -> Any:
    """``request`` with only the products the customer was shown; None when none is left."""
    if not isinstance(request, dict) or request.get("kind") == "warning":
        return request
    products = request.get("products")
    if not isinstance(products, list):
        return request  # malformed: record_shown refuses it and says why
    kept = [p for p in products if isinstance(p, dict) and p.get("id") in shown]
    if len(kept) < len(products):
        logger.warning("Recorded as shown to %s: %d of the %d products of a %s (the rest were blocked or "
                       "never named)", sender_id, len(kept), len(products), request.get("kind"))
    return {**request, "products": kept} if kept else None


async def _send_guarded(events: list, tracker: Any, output_channel: Any) -> None:
    """Guard, send and audit each message of one action's batch in order.

    A record an action asked for is written after its message passed the guard and the channel
    took it, with the message id. A warning record describes its own message. A suggestion or
    mismatch record describes what followed the warning too: it lists only the products named
    in messages that passed since the warning (or since the batch began) — a product whose line
    was replaced by the blocked reply was not shown — and is not written when none is left.
    A blocked message leaves a guard_block record naming what it was meant to record instead."""
    loop = asyncio.get_running_loop()
    earlier = _texts_earlier_in_turn(tracker, events)
    # Read at most once per batch, and only when a product is offered outside a text.
    profile = functools.cache(lambda: risk_profile.current(tracker.sender_id))
    shown: set[str] = set()  # products named in messages that passed since the latest warning
    for event in events:
        if not isinstance(event, BotUttered):
            await _original_send([event], tracker, output_channel)
            continue
        request = _take_audit_request(event)
        message_id = uuid.uuid4().hex
        event.metadata = {**(event.metadata or {}), "message_id": message_id}
        message = Outgoing.of(event.message())
        violations = await loop.run_in_executor(None, guard.check_message, message, list(earlier), profile)
        if violations:
            detail = "; ".join(f"{v.rule}: {v.evidence}" + ("" if v.part == "text" else f" (in {v.part})")
                               for v in violations)
            if isinstance(request, dict):
                detail += f" [not shown, so not recorded: {request.get('kind')}]"
            logger.warning("Compliance guard blocked a message to %s (%s)", tracker.sender_id, detail)
            metrics.GUARD_BLOCKS.inc()
            _block(event, tracker.get_slot("language"))
            await loop.run_in_executor(None, lambda d=detail, m=message_id: audit.record(
                tracker.sender_id, "guard_block", detail=d, message_id=m))
        else:
            if isinstance(request, dict) and request.get("kind") == "warning":
                shown = set()
            shown |= _products_named(message)
        speed.forget_kept(event)  # stamped (and maybe replaced) after Rasa logged it
        earlier.append(event.text or "")
        await _original_send([event], tracker, output_channel)
        if request is not None and not violations:
            request = _only_shown(request, shown, tracker.sender_id)
            if request is not None:
                await loop.run_in_executor(None, _write_shown, request, message_id, tracker.sender_id)
        if (event.metadata or {}).get("utter_action") == HANDOFF_RESPONSE:
            await loop.run_in_executor(None, _audit_handoff, tracker, message_id)


def install() -> None:
    """Wrap the processor's send step once; safe to call more than once."""
    if not installed():
        # a staticmethod in Rasa 3.6, so it stays one
        MessageProcessor._send_bot_messages = staticmethod(_send_guarded)  # type: ignore[method-assign]


def installed() -> bool:
    """Whether every message Rasa sends passes the guard now."""
    current = MessageProcessor.__dict__.get("_send_bot_messages")
    return getattr(current, "__func__", current) is _send_guarded


def status() -> tuple[bool, dict[str, Any]]:
    """(ok, detail) for /health/ready: the guard in place and rules in force, their version and
    the latest refusal of an edit of the rules file, if the file as it is now is refused."""
    try:
        version: str | None = rulebook.current().version
        error = None
    except rulebook.RulesRefused as refused:
        version, error = None, str(refused)
    refusal = rulebook.last_refusal()
    detail: dict[str, Any] = {"installed": installed(), "rules_version": version,
                              "rules_refused": refusal.as_dict() if refusal else None}
    if error:
        detail["error"] = error
    return bool(detail["installed"] and version), detail
