"""Refuse copies of WeChat callbacks: each signed delivery is taken once.

A callback's query (``timestamp``, ``nonce``, ``signature``) is what WeChat signs for one
delivery; the load balancer's log keeps it, and anybody who captured a genuine callback (query
and encrypted body) could post it again. Two checks close that:

- the timestamp must lie within ``ANXIN_WECHAT_TIMESTAMP_WINDOW`` seconds (default 300) of the
  server's clock (``wechat_protocol.check_timestamp``), so an old capture is worthless, however
  long the connector's turn memory lasts;
- within that window, every delivery's fingerprint (``wechat_protocol.query_fingerprint``) is
  remembered (``ReplayGuard``: in Redis with ``ANXIN_REDIS_URL``, shared by the replicas, else
  in this process) for twice the window: a delivery stamped at T is accepted until T + window and
  may first arrive as early as T - window.

Why WeChat's own retries still work. WeChat re-sends a message it got no answer to within 5 s,
up to three times. Either the retry comes with a new timestamp and nonce (as the tests' fake
does) -- then it is a new delivery here, passes, and joins the first delivery's turn by the
message's de-duplication key (FromUserName + MsgId) -- or it repeats the first delivery's query
exactly. An exact repeat is told apart by *when* it comes:

- while the first delivery of that query is still **in flight** (not yet answered: WeChat gave
  up waiting before we replied), the repeat is WeChat's retry and joins the turn. An attacker's
  copy arriving then gains nothing: it carries the same encrypted body (``msg_signature`` binds
  it), so the same follower and MsgId, joins the same turn (no second one) and gets the same
  reply, encrypted for the account;
- once that delivery was **answered**, a repeat is refused (403): WeChat does not retry a
  delivery it had its answer to, so this is a copy. The price: if our answer was sent but lost
  on the way, WeChat's identical retry is refused too, and that follower misses a passive reply
  (an asynchronous answer still arrives through the customer-service API). Running a follower's
  "confirm" twice would cost more.

The in-flight state names the message (its de-duplication key), so a copy carrying another
body under the same query (possible only in plain mode, where the body is unsigned) is refused
even then. Only authentic callbacks are remembered (the signatures are checked first), so nobody
can fill the memory or spend somebody else's nonce.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from bot.channels import wechat_protocol as protocol
from bot.channels.shared_state import SeenCallbacks

FLIGHT, ANSWERED = "flight:", "answered:"
MAX_REMEMBERED = 200_000  # authentic callbacks within twice the window; WeChat sends far fewer


class LocalSeen:
    """``SeenCallbacks`` in this process: fingerprint -> state, each kept ``seconds``."""

    def __init__(self, seconds: float, size: int = MAX_REMEMBERED) -> None:
        self.seconds, self.size = seconds, size
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()  # in arrival order

    def _forget_old(self, now: float) -> None:
        while self._items:
            deadline, _ = next(iter(self._items.values()))
            if deadline > now and len(self._items) <= self.size:
                return
            self._items.popitem(last=False)

    async def first(self, fingerprint: str, state: str) -> str | None:
        now = time.monotonic()
        self._forget_old(now)
        found = self._items.get(fingerprint)
        if found is not None:
            return found[1]
        self._items[fingerprint] = (now + self.seconds, state)
        return None

    async def put(self, fingerprint: str, state: str) -> None:
        deadline = self._items.get(fingerprint, (time.monotonic() + self.seconds, ""))[0]
        self._items[fingerprint] = (deadline, state)  # keeps its place: the order stays by deadline


class ReplayGuard:
    """The timestamp window and the memory of deliveries, for one connector."""

    def __init__(self, window_seconds: float, redis_url: str | None = None) -> None:
        self.window = window_seconds
        remember = 2 * window_seconds + 1
        self.seen: LocalSeen | SeenCallbacks = SeenCallbacks(redis_url, remember) if redis_url \
            else LocalSeen(remember)

    def check_time(self, args: dict[str, str]) -> None:
        """CallbackError(403, reason "stale") unless the timestamp is within the window."""
        protocol.check_timestamp(args, self.window)

    async def admit(self, args: dict[str, str], dedupe_key: str) -> str:
        """The delivery's fingerprint when it may be processed: its first arrival, or an exact
        repeat of a delivery of the same message still in flight (WeChat's retry). Else
        CallbackError(403, reason "replay"). RedisError when Redis is unreachable."""
        fingerprint = protocol.query_fingerprint(args)
        prior = await self.seen.first(fingerprint, FLIGHT + dedupe_key)
        if prior is None or prior == FLIGHT + dedupe_key:
            return fingerprint
        raise protocol.CallbackError(403, "this callback was already received and answered", "replay")

    async def answered(self, fingerprint: str, dedupe_key: str) -> None:
        """The delivery got its reply: from now on a copy of it is refused."""
        await self.seen.put(fingerprint, ANSWERED + dedupe_key)
