"""Run every outgoing bot message through the compliance guard, inside the Rasa server.

``MessageProcessor._send_bot_messages`` is the one place every BotUttered passes before a
channel sends it: response templates, forms, custom actions and slot-mapping actions alike.
Wrapping it means no action and no template can bypass the guard. A message that breaks a
rule is replaced (in the event itself, so the tracker keeps what the customer really saw)
by the rules file's blocked reply, and the block is audited. Handoffs are audited here too,
whichever action sent them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered, UserUttered

from bot import metrics
from bot.compliance import audit, guard, risk_profile

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


def _visible_text(message: BotUttered) -> str:
    titles = [b.get("title", "") for b in (message.data or {}).get("buttons") or []]
    return "\n".join([message.text or "", *titles])


def _audit_handoff(tracker: Any) -> None:
    profile = risk_profile.current(tracker.sender_id)
    intent = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
    audit.record(tracker.sender_id, "handoff", c_level=profile.level if profile else None,
                 emotion=tracker.get_slot("emotion") if "emotion" in tracker.slots else None,
                 detail=f"last intent: {intent}")


async def _send_guarded(events: list, tracker: Any, output_channel: Any) -> None:
    loop = asyncio.get_running_loop()
    earlier = _texts_earlier_in_turn(tracker, events)
    for event in events:
        if not isinstance(event, BotUttered):
            continue
        violations = guard.check_message(_visible_text(event), earlier)
        if violations:
            detail = "; ".join(f"{v.rule}: {v.evidence}" for v in violations)
            logger.warning("Compliance guard blocked a message to %s (%s)", tracker.sender_id, detail)
            metrics.GUARD_BLOCKS.inc()
            event.text = guard.blocked_reply(tracker.get_slot("language"))
            event.data = {**(event.data or {}), "buttons": None, "quick_replies": None, "custom": None}
            await loop.run_in_executor(None, lambda d=detail: audit.record(tracker.sender_id, "guard_block", detail=d))
        earlier.append(event.text or "")
        if (event.metadata or {}).get("utter_action") == HANDOFF_RESPONSE:
            await loop.run_in_executor(None, _audit_handoff, tracker)
    await _original_send(events, tracker, output_channel)


def install() -> None:
    """Wrap the processor's send step once; safe to call more than once."""
    if MessageProcessor.__dict__["_send_bot_messages"].__func__ is not _send_guarded:
        # a staticmethod in Rasa 3.6, so it stays one
        MessageProcessor._send_bot_messages = staticmethod(_send_guarded)  # type: ignore[method-assign]
