"""Validate and clean what a channel receives before it reaches the dialogue.

One place decides what counts as unusable input, so every channel answers the same way:
a clear 4xx for what no customer could have meant (bad UTF-8, malformed JSON, a missing
sender, an oversize message) and a polite in-dialogue answer for an empty message.

Rasa reads a message that starts with "/" as an intent given directly, entities and all
(``/inform{"amount": 1}`` sets the amount, skipping the NLU). Customers' messages may carry
only what the chat's own buttons send (``button_payload``): ``/<intent>`` naming an intent of
the domain, with no entities, and the risk questionnaire's ``/choose_option{"option": "<n>"}``
(actions/risk.py). Anything else starting with "/" is the customer's words: the slashes are
taken off so the NLU reads it as text ("/123456" is "123456", which the step-up door then
masks).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot import settings
from bot.identity.party import strip_reserved

logger = logging.getLogger(__name__)

EMPTY_MESSAGE_INTENT = "/empty_message"
# Only emoji, symbols or punctuation ("😀😀😀", "???"): nothing a classifier can read reliably
# (DIET would guess "deny" or "affirm" from character n-grams), so the dialogue answers "not
# understood, shall I get a person?" instead of acting on a guess.
WORDLESS_MESSAGE_INTENT = "/nlu_fallback"
_WORD = re.compile(r"\w")
MAX_SENDER_CHARS = 128
# C0/C1 control characters other than tab and newline; they only ever come from bad clients.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# No client of ours nests JSON deeper than a few levels; deeper is an attack on the parser (or on
# whatever later walks or stores the object) and is refused with 400, never a 500.
MAX_JSON_DEPTH = 20
DOMAIN = Path(__file__).resolve().parents[2] / "domain.yml"
# What a button of ours sends: an intent, and only the questionnaire's buttons an option number.
_PAYLOAD = re.compile(r'/(?P<intent>[a-z_]{1,64})(?P<entities>\{"option": ?"\d{1,2}"\})?')
ENTITY_PAYLOAD_INTENTS = frozenset({"choose_option"})


class InboundError(ValueError):
    """Input that must be refused; ``status`` is the HTTP status to answer with. Every channel
    (REST, WeChat, the copilot API) refuses with it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Inbound:
    sender: str
    text: str
    metadata: dict[str, Any] | None


def clean_text(text: str) -> str:
    """Drop control characters and lone surrogates (which no database can store)."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", text).strip()


def json_object(body: bytes, shape: str) -> dict[str, Any]:
    """A request body that must be a UTF-8 JSON object (``shape`` shows one in the error)."""
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InboundError(400, f"request body is not valid UTF-8 (byte {error.start})") from error
    try:
        payload = json.loads(decoded)
    except RecursionError as error:
        raise InboundError(400, f"request body is nested too deeply (at most {MAX_JSON_DEPTH} levels)") from error
    except ValueError as error:
        raise InboundError(400, f"request body is not valid JSON: {error}") from error
    if depth(payload) > MAX_JSON_DEPTH:
        raise InboundError(400, f"request body is nested too deeply (at most {MAX_JSON_DEPTH} levels)")
    if not isinstance(payload, dict):
        raise InboundError(400, f"request body must be a JSON object: {shape}")
    return payload


def parse_body(body: bytes, customer_id: str) -> Inbound:
    """Turn a REST body ``{"message": ..., "metadata": {...}}`` from the signed-in customer
    ``customer_id`` into an Inbound whose sender is that customer.

    A ``sender`` in the body is optional (clients of Rasa's REST channel send one); one that
    names somebody else is refused with 403, never obeyed. An empty or whitespace-only
    message becomes the ``/empty_message`` intent, answered by the dialogue with a polite
    prompt in the conversation's language; one without any word character ``/nlu_fallback``.
    """
    payload = json_object(body, '{"message": "..."}')
    sender, message, metadata = payload.get("sender"), payload.get("message"), payload.get("metadata")
    if sender is not None:
        if not isinstance(sender, str) or len(sender) > MAX_SENDER_CHARS:
            raise InboundError(400, f'"sender", when given, must be a string of at most {MAX_SENDER_CHARS} characters')
        if clean_text(sender) != customer_id:
            raise InboundError(403, '"sender" is not the signed-in customer; leave it out (the token says who you are)')
    if message is None:
        message = ""
    if not isinstance(message, str):
        raise InboundError(400, '"message" must be a string')
    if metadata is not None and not isinstance(metadata, dict):
        raise InboundError(400, '"metadata" must be a JSON object when given')
    return Inbound(customer_id, dialogue_text(message), strip_reserved(bounded_metadata(metadata)))


def depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply ``value`` (parsed JSON) nests; counting stops just past ``limit``."""
    deepest, level, todo = 0, 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            todo.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def bounded_metadata(metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    """``metadata`` if it is small and shallow enough to store with the message, else InboundError
    (413 over ``ANXIN_MAX_METADATA_BYTES`` as JSON, 400 nested deeper than ``MAX_JSON_DEPTH``):
    whatever a message carries is kept in the tracker for as long as the conversation."""
    if not metadata:
        return metadata
    if depth(metadata) > MAX_JSON_DEPTH:
        raise InboundError(400, f'"metadata" is nested too deeply (at most {MAX_JSON_DEPTH} levels)')
    size, limit = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8")), settings.max_metadata_bytes()
    if size > limit:
        raise InboundError(413, f'"metadata" is too large: {size} bytes, the limit is {limit}')
    return metadata


_LEADING_SLASHES = re.compile(r"^[\s/]+")


def dialogue_text(message: str) -> str:
    """What the dialogue receives for a customer's ``message``, for every channel.

    Cleaned; an empty or whitespace-only message becomes ``/empty_message``, one without any
    word character ``/nlu_fallback``; one longer than the limit raises InboundError(413); one
    starting with "/" that is no button's payload loses its slashes (the module's docstring).
    """
    text = clean_text(message)
    limit = settings.max_message_chars()
    if len(text) > limit:
        raise InboundError(413, f"message is too long: {len(text)} characters, the limit is {limit}")
    if text.startswith("/") and not button_payload(text):
        # typed words, never an intent given directly: every leading slash and space goes, so
        # "/ /inform{...}" or "/\t/inform{...}" cannot uncover a second one
        text = _LEADING_SLASHES.sub("", text)
    if not text:
        return EMPTY_MESSAGE_INTENT
    if not _WORD.search(text):
        return WORDLESS_MESSAGE_INTENT
    return text


@lru_cache(maxsize=1)
def _intents() -> frozenset[str] | None:
    """The intents of domain.yml (None when it cannot be read: then no payload passes — buttons
    stop working, which is better than letting a typed intent through)."""
    try:
        domain = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
        return frozenset(i if isinstance(i, str) else next(iter(i)) for i in domain["intents"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, StopIteration) as error:
        logger.error("Cannot read the intents of %s (%s): no '/' payload is taken as a button's", DOMAIN, error)
        return None


def button_payload(text: str) -> bool:
    """True when ``text`` is what one of the chat's buttons sends: ``/<intent of the domain>``,
    or ``/choose_option{"option": "<n>"}``; never other entities, never an unknown intent."""
    match = _PAYLOAD.fullmatch(text)
    if match is None or (match["entities"] and match["intent"] not in ENTITY_PAYLOAD_INTENTS):
        return False
    known = _intents()
    return known is not None and match["intent"] in known
