"""Run every outgoing bot message through the compliance guard, inside the Rasa server.

``MessageProcessor._send_bot_messages`` is the one place every BotUttered passes before a
channel sends it: response templates, forms, custom actions and slot-mapping actions alike.
Wrapping it means no action and no template can bypass the guard. The guard reads the whole
message as the channel receives it (``BotUttered.message()``: text, buttons, quick replies,
custom JSON, image, attachment, elements). A message that breaks a rule is replaced (in the
event itself, so the tracker keeps what the customer really saw) by the rules file's blocked
reply, with nothing else attached, and the block is audited. Handoffs are audited here too,
whichever action sent them.

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
from typing import Any

from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered, UserUttered

from bot import metrics
from bot.compliance import audit, guard, risk_profile, rulebook
from bot.compliance.outgoing import CONTENT_KEYS, Outgoing

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


def _audit_handoff(tracker: Any) -> None:
    profile = risk_profile.current(tracker.sender_id)
    intent = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
    audit.record(tracker.sender_id, "handoff", c_level=profile.level if profile else None,
                 emotion=tracker.get_slot("emotion") if "emotion" in tracker.slots else None,
                 detail=f"last intent: {intent}")


async def _send_guarded(events: list, tracker: Any, output_channel: Any) -> None:
    loop = asyncio.get_running_loop()
    earlier = _texts_earlier_in_turn(tracker, events)
    # Read at most once per batch, and only when a product is offered outside a text.
    profile = functools.cache(lambda: risk_profile.current(tracker.sender_id))
    for event in events:
        if not isinstance(event, BotUttered):
            continue
        message = Outgoing.of(event.message())
        violations = await loop.run_in_executor(None, guard.check_message, message, list(earlier), profile)
        if violations:
            detail = "; ".join(f"{v.rule}: {v.evidence}" + ("" if v.part == "text" else f" (in {v.part})")
                               for v in violations)
            logger.warning("Compliance guard blocked a message to %s (%s)", tracker.sender_id, detail)
            metrics.GUARD_BLOCKS.inc()
            _block(event, tracker.get_slot("language"))
            await loop.run_in_executor(None, lambda d=detail: audit.record(tracker.sender_id, "guard_block", detail=d))
        earlier.append(event.text or "")
        if (event.metadata or {}).get("utter_action") == HANDOFF_RESPONSE:
            await loop.run_in_executor(None, _audit_handoff, tracker)
    await _original_send(events, tracker, output_channel)


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
