"""A step-up code typed in the chat is checked at the door and never enters the conversation.

The customer types the six-digit code pushed to their app into the chat. Had it gone on as
typed it would sit, in clear, in the stored conversation (user event, parse data, slot), in the
turn's log line, in whatever streams or exports the tracker — all places read by more people,
and kept longer, than a code's five minutes warrant. So in the Rasa server, when a message
arrives for a conversation whose step-up form is waiting for the code, before the message is
parsed, logged or stored:

1. the digits are taken as the attempt and checked right here (``bot.identity.otp.check``,
   against the code bound to this customer and to the pending transfer's key, amount and
   payee; the attempt counts, the right code gives one verification, all in the bank
   database, hashed). Every message is looked at, a "/"-prefixed one too ("/123456" once
   went on unmasked and was still taken as the code by the validator); a message with no
   digits is no attempt and goes on as typed;
2. the message goes on with its digits replaced by ``MASK`` ("******"). The slot
   ``step_up_code`` therefore only ever holds the mask; the step-up form's validator in the
   action server sees the mask and reads the outcome of this check from the bank database
   (``otp.status``), and the transfer spends the verification there (``otp.redeem``).

Why check here rather than swap the code for a reference the action server redeems: a
reference would still need the code (or something that can be brute-forced back to it) kept
somewhere between the two servers; checking at the door means the code is never kept at all,
and the action server trusts nothing a message says — only what the database recorded for
this customer and this transfer. The door is installed with the other processor patches
(``processor_patches.install``), so every channel (REST, socket.io, WeChat, the copilot) is
covered. Stored events are masked once more on the way into the tracker store
(``bot.compliance.masking.mask_event``), in case a code ever arrived another way.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from bot.identity import otp
from bot.identity.party import resolve

logger = logging.getLogger(__name__)

STEP_UP_FORM = "step_up_form"
CODE_SLOT = "step_up_code"
MASK = otp.TYPED_CODE_MASK
# The digits of a typed code, with the spaces or dashes people put in ("123 456", "123-456").
_DIGIT_RUN = re.compile(r"\d(?:[\s-]*\d)*")
_installed = False


def awaiting_code(tracker: Any) -> bool:
    """True when the conversation's step-up form has asked for the code."""
    return tracker.active_loop_name == STEP_UP_FORM and tracker.get_slot("requested_slot") == CODE_SLOT


def conceal(text: str) -> tuple[str, str]:
    """``text`` with its digit runs masked, and the digits it held (the attempt)."""
    digits = "".join(ch for ch in text if ch.isdigit())
    return _DIGIT_RUN.sub(MASK, text), digits


async def check_at_the_door(message: Any, tracker: Any) -> None:
    """If ``tracker`` waits for a step-up code and ``message`` carries digits: check them as the
    code, and replace them in the message (and its parse data, when it came parsed) by MASK."""
    text = message.text
    if not isinstance(text, str) or not awaiting_code(tracker):
        return
    masked, digits = conceal(text)
    if not digits:
        return
    # Masked digits are plain text: "/******" would otherwise be parsed as an intent named so.
    message.text = masked.lstrip("/") or MASK
    if isinstance(getattr(message, "parse_data", None), dict) and isinstance(message.parse_data.get("text"), str):
        message.parse_data = {**message.parse_data, "text": conceal(message.parse_data["text"])[0], "entities": []}
    customer = resolve(message.sender_id, message.input_channel, message.metadata).customer_id
    purpose = otp.step_up_purpose(customer, tracker.get_slot("pending_transfer"))
    if purpose is None:
        return  # nothing to confirm: the validator finds no code and ends the form
    try:
        await asyncio.to_thread(otp.check, purpose, digits, customer)
    except Exception:  # the validator then finds no verification, and the transfer is not made
        logger.exception("Step-up code check failed for %s", message.sender_id)


def install() -> None:
    """Check (and mask) step-up codes in ``MessageProcessor._handle_message_with_tracker``,
    before the message is parsed, logged or stored. Idempotent."""
    global _installed
    from rasa.core.processor import MessageProcessor

    if _installed:
        return
    _installed = True
    original = MessageProcessor._handle_message_with_tracker

    async def handle_message_with_tracker(self: MessageProcessor, message: Any, tracker: Any) -> None:
        await check_at_the_door(message, tracker)
        await original(self, message, tracker)

    MessageProcessor._handle_message_with_tracker = handle_message_with_tracker  # type: ignore[method-assign]
