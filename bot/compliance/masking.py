"""Mask personal numbers before they reach logs, audit records or the copilot (rule 10).

Chinese text has no word boundaries around digits ("身份证号110101199003071234"), so the
patterns use digit look-arounds instead of ``\\b``.
"""

from __future__ import annotations

import logging
import re

_ID_CARD = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
_BANK_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){15,18}\d(?!\d)")
_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
# A WeChat OpenID: "o" and 27 URL-safe characters. Enough is kept to tell followers apart.
_OPENID = re.compile(r"(?<![A-Za-z0-9_-])o[A-Za-z0-9_-]{27}(?![A-Za-z0-9_-])")
# The slot the step-up form reads the one-time code into (domain.yml).
STEP_UP_CODE_SLOT = "step_up_code"
_DIGITS = re.compile(r"\d")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def _keep_last_four(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "*" * (len(digits) - 4) + digits[-4:]


def _id_card(match: re.Match) -> str:
    return "*" * 14 + match.group(0)[-4:]


def _phone(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))[-11:]
    return f"{digits[:3]}****{digits[-4:]}"


def mask(text: str | None) -> str | None:
    """``text`` with ID-card, bank-card and phone numbers, e-mail addresses and WeChat OpenIDs masked."""
    if not text:
        return text
    text = _OPENID.sub(lambda m: f"{m.group(0)[:4]}…{m.group(0)[-4:]}", text)
    text = _ID_CARD.sub(_id_card, text)
    text = _PHONE.sub(_phone, text)
    text = _BANK_CARD.sub(_keep_last_four, text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


def mask_event(data: dict) -> dict:
    """A stored conversation event with personal numbers masked: the customer's and the bot's
    text, the parsed text and entity values, and slot values that are plain strings. The
    dialogue saw them in flight; what is kept is masked. Structured slot values (a pending
    transfer with its idempotency key) are kept as they are. The step-up code slot keeps no
    digit at all: the Rasa server masks a typed code before the dialogue sees it
    (``bot.rasa_ext.step_up_door``); this is the second lock, for a code that came another way."""
    masked = dict(data)
    if isinstance(masked.get("text"), str):
        masked["text"] = mask(masked["text"])
    parse = masked.get("parse_data")
    if isinstance(parse, dict):
        parse = dict(parse)
        if isinstance(parse.get("text"), str):
            parse["text"] = mask(parse["text"])
        if isinstance(parse.get("entities"), list):
            parse["entities"] = [{**e, "value": mask(e["value"])} if isinstance(e, dict) and isinstance(
                e.get("value"), str) else e for e in parse["entities"]]
        masked["parse_data"] = parse
    if masked.get("event") == "slot" and isinstance(masked.get("value"), str):
        masked["value"] = mask(masked["value"])
        if masked.get("name") == STEP_UP_CODE_SLOT:
            masked["value"] = _DIGITS.sub("*", masked["value"])
    return masked


class MaskingFilter(logging.Filter):
    """Logging filter that masks the formatted message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot be formatted: leave it to the handler
            return True
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def install_log_masking() -> None:
    """Mask every log record of this process, whichever handler prints it."""
    masking = MaskingFilter()
    root = logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(masking)
    if not getattr(logging, "_anxin_masking", False):
        previous = logging.getLogRecordFactory()

        def factory(*args, **kwargs):
            record = previous(*args, **kwargs)
            masking.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        logging._anxin_masking = True  # type: ignore[attr-defined]
