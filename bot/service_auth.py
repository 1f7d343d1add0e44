"""Signed calls from the Rasa server to the action server (service-to-service trust).

The action server runs any action for any conversation it is sent, trusting the tracker in the
body: whoever can post to it can read any customer's data or move their money. So every call
carries a signature the action server checks before it reads the body:

    X-Anxin-Timestamp: <unix seconds>
    X-Anxin-Signature: v1=<hex HMAC-SHA256(ANXIN_ACTION_SECRET, "<timestamp>.<METHOD>.<path>." + body)>

over the exact bytes sent (so the Rasa side never lets aiohttp re-encode or compress the body
after signing), the method and the path (a signature for one endpoint is worthless on another),
and a time (accepted within ``WINDOW_SECONDS`` either way, so a captured call cannot be
replayed later; within the window a replayed transfer still moves money once: the idempotency
key). Compared with ``hmac.compare_digest``. The secret comes only from the environment
(``bot.settings.action_secret``).

Standard library only: the Rasa server (Python 3.10, no torch) and the action server both
import it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

TIMESTAMP_HEADER = "X-Anxin-Timestamp"
SIGNATURE_HEADER = "X-Anxin-Signature"
SCHEME = "v1"
WINDOW_SECONDS = 300

# Why a call was refused: short fixed strings, also the metric's label values.
UNSIGNED, BAD_TIMESTAMP, STALE, BAD_SIGNATURE = "unsigned", "bad_timestamp", "stale_timestamp", "bad_signature"
REASONS = (UNSIGNED, BAD_TIMESTAMP, STALE, BAD_SIGNATURE)


def signature(secret: bytes, timestamp: str, method: str, path: str, body: bytes) -> str:
    message = b".".join((timestamp.encode("ascii"), method.upper().encode("ascii"), path.encode("utf-8"), body))
    return f"{SCHEME}={hmac.new(secret, message, hashlib.sha256).hexdigest()}"


def sign(secret: bytes, method: str, path: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The headers that sign one call."""
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, method, path, body)}


def refusal(secret: bytes, header: Callable[[str], str | None], method: str, path: str, body: bytes,
            now: float | None = None) -> str | None:
    """None when the call is signed with ``secret`` within the window, else why not (one of
    ``REASONS``). ``header(name)`` reads a request header."""
    timestamp, given = header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER)
    if not timestamp or not given:
        return UNSIGNED
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return BAD_TIMESTAMP
    if abs((time.time() if now is None else now) - int(timestamp)) > WINDOW_SECONDS:
        return STALE
    expected = signature(secret, timestamp, method, path, body)
    if not hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace")):
        return BAD_SIGNATURE
    return None
