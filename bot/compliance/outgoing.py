"""What one bot message puts in front of the customer, part by part, as the guard reads it.

A Rasa message is more than its text: buttons and quick replies (a title the customer reads, a
payload the channel may show or echo), ``custom`` JSON the app renders, an image or attachment
whose URL and file name are visible, carousel ``elements``. Anything a response template or an
action can put there reaches the channel, so the guard must read all of it; a forbidden phrase
or an unannounced product hidden in a button payload or a nested JSON string is still sent.

``Outgoing.of(message)`` takes the dictionary the channel receives (``BotUttered.message()``)
and returns its text and every other string in it, each labelled with the part it came from.
Strings are also read the way a customer's screen or a URL decoder would show them: JSON held
in a string is parsed and walked, percent-encoded URLs are decoded, and URL separators
(``-_/.+=&?#``) are read as spaces, so ``/no-risk-fund.pdf`` reads "no risk fund pdf".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

# The keys of a message that a channel shows (rasa.core.channels.channel.OutputChannel.send_response);
# the rest (Rasa's metadata: utter_action, the template's variables) is not sent to the customer.
CONTENT_KEYS = ("text", "buttons", "quick_replies", "custom", "attachment", "image", "elements")
PARTS = {"buttons": "button", "quick_replies": "quick_reply", "custom": "custom", "attachment": "attachment",
         "image": "image", "elements": "elements"}
MAX_DEPTH = 32  # nested JSON deeper than this is not a message any channel renders
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_URL_SEPARATORS = re.compile(r"[-_/.+=&?#]+")


@dataclass(frozen=True)
class Part:
    where: str  # button, quick_reply, custom, attachment, image, elements
    text: str


@dataclass(frozen=True)
class Outgoing:
    text: str = ""
    extras: tuple[Part, ...] = ()

    @classmethod
    def of(cls, message: dict[str, Any]) -> Outgoing:
        text = message.get("text")
        extras: list[Part] = []
        for key, where in PARTS.items():
            seen: set[str] = set()
            for string in _strings(message.get(key), 0):
                for reading in _readings(string):
                    if reading not in seen:
                        seen.add(reading)
                        extras.append(Part(where, reading))
        return cls(text if isinstance(text, str) else ("" if text is None else str(text)), tuple(extras))


def _strings(value: Any, depth: int) -> Iterator[str]:
    """Every string in ``value`` (keys too), JSON held in strings included."""
    if depth > MAX_DEPTH or value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        yield value
        start = min((i for i in (value.find("{"), value.find("[")) if i >= 0), default=-1)
        if start >= 0:  # a JSON document, or a Rasa payload such as /intent{"entity": "..."}
            try:
                nested = json.loads(value[start:])
            except ValueError:
                return
            if not isinstance(nested, str):
                yield from _strings(nested, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, depth + 1)
            yield from _strings(item, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item, depth + 1)
    elif isinstance(value, (int, float)):
        yield str(value)


def _readings(string: str) -> Iterator[str]:
    """The string as sent, percent-decoded if it is encoded, and with URL separators as spaces."""
    yield string
    decoded = unquote_plus(string) if _PERCENT.search(string) else string
    if decoded != string:
        yield decoded
    spaced = _URL_SEPARATORS.sub(" ", decoded)
    if spaced != decoded:
        yield spaced
