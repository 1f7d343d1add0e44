"""What the Rasa replicas behind one WeChat official account must share, kept in Redis when
``ANXIN_REDIS_URL`` is set (``bot.settings.redis_url``); without it the channel keeps the same
things in process, as it always did.

WeChat retries a callback it got no answer to within 5 seconds, and the load balancer may send
the retry to another replica. So the replicas agree in Redis on:

- who runs a message's dialogue turn (``TurnClaims.claim``: the first replica to ``SET NX`` the
  MsgId's key; every other delivery of that MsgId joins it, on whatever replica it lands);
- how that turn's answer goes out, decided once for all deliveries (``TurnClaims.decide``:
  passive XML, which every delivery answers with, or ``success`` and the customer-service API,
  which only the replica running the turn uses), so an answer is never delivered twice;
- the follower's numbered choices and binding step (``SharedMemory``): the next message may
  land on another replica;
- the signed query strings of the callbacks received within the timestamp window, and whether
  each was answered (``SeenCallbacks``), so a copy of a callback is refused on every replica
  (``bot.channels.wechat_replay``).

Redis down: ``RedisError`` from the claims (the channel answers the follower with its polite
"busy" text; Rasa's conversation locks are in the same Redis, so no turn could run anyway);
``SharedMemory`` forgets instead (a lost choice list only means a digit is read as text, a lost
binding step means sending "绑定" again) and logs it. Every call is bounded by
``ANXIN_REDIS_TIMEOUT``. The ``SharedMemory`` calls are synchronous, because the binding flow
reads its step synchronously; on the local network they take well under a millisecond.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Generic, TypeVar

import redis
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot import settings

logger = logging.getLogger(__name__)
PREFIX = "anxin:wechat:"
OUTCOME_POLL_SECONDS = 0.05
V = TypeVar("V")

__all__ = ["Outcome", "RedisError", "SeenCallbacks", "SharedMemory", "TurnClaims", "async_client", "sync_client"]


@functools.cache
def sync_client(url: str) -> redis.Redis:
    timeout = settings.redis_timeout_seconds()
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                decode_responses=True)


_async_clients: dict[tuple[str, int], aioredis.Redis] = {}


def async_client(url: str) -> aioredis.Redis:
    """One client per URL and event loop (an asyncio connection belongs to the loop it was made in)."""
    key = (url, id(asyncio.get_running_loop()))
    found = _async_clients.get(key)
    if found is None:
        timeout = settings.redis_timeout_seconds()
        found = _async_clients[key] = aioredis.Redis.from_url(url, socket_timeout=timeout,
                                                              socket_connect_timeout=timeout,
                                                              decode_responses=True)
    return found


def replica_name() -> str:
    """Names the replica that claimed a turn, for whoever reads Redis while debugging."""
    return f"{socket.gethostname()}:{os.getpid()}"


class SharedMemory(Generic[V]):
    """``RecentMemory``'s get/put/pop over Redis: JSON values under ``PREFIX + kind + key`` that
    expire ``seconds`` after they were put. ``load`` turns the stored JSON back into a value."""

    def __init__(self, url: str, kind: str, seconds: float, load: Callable[[Any], V] = lambda value: value,
                 dump: Callable[[V], Any] = lambda value: value) -> None:
        self.url, self.kind, self.seconds, self.load, self.dump = url, kind, int(max(1, seconds)), load, dump

    def _key(self, key: str) -> str:
        return f"{PREFIX}{self.kind}:{key}"

    def _forgetting(self, doing: str, error: RedisError) -> None:
        logger.error("Redis unreachable (%s) while %s %s: forgotten for now", error, doing, self.kind)

    def get(self, key: str) -> V | None:
        try:
            stored = sync_client(self.url).get(self._key(key))
        except RedisError as error:
            self._forgetting("reading", error)
            return None
        return None if stored is None else self.load(json.loads(stored))

    def put(self, key: str, value: V) -> None:
        try:
            sync_client(self.url).set(self._key(key), json.dumps(self.dump(value), ensure_ascii=False),
                                      ex=self.seconds)
        except RedisError as error:
            self._forgetting("keeping", error)

    def pop(self, key: str) -> None:
        try:
            sync_client(self.url).delete(self._key(key))
        except RedisError as error:
            self._forgetting("dropping", error)


def dataclass_memory(url: str, kind: str, seconds: float, cls: type[V]) -> SharedMemory[V]:
    """A SharedMemory of a flat dataclass (e.g. the binding flow's ``Step``)."""
    return SharedMemory(url, kind, seconds, load=lambda fields: cls(**fields), dump=asdict)


@dataclass(frozen=True)
class Outcome:
    """How a turn's answer is delivered: ``passive`` with the reply XML (unsealed; None = nothing
    to say) or ``async`` (``success`` now, the customer-service API later)."""

    mode: str
    xml: str | None = None


class TurnClaims:
    """Which replica runs a MsgId's turn, and the one delivery decision all its deliveries follow."""

    def __init__(self, url: str, seconds: float) -> None:
        self.url, self.seconds = url, int(seconds)

    async def claim(self, key: str) -> bool:
        """True for the first delivery of ``key`` on any replica: it runs the turn."""
        return bool(await async_client(self.url).set(f"{PREFIX}turn:{key}", replica_name(), nx=True,
                                                     ex=self.seconds))

    async def decide(self, key: str, proposal: Outcome) -> Outcome:
        """Record ``proposal`` unless a decision is already recorded; the recorded one wins."""
        client = async_client(self.url)
        name = f"{PREFIX}outcome:{key}"
        if await client.set(name, json.dumps(asdict(proposal), ensure_ascii=False), nx=True, ex=self.seconds):
            return proposal
        return await self.outcome(key) or proposal  # (only if the key expired in between)

    async def outcome(self, key: str) -> Outcome | None:
        stored = await async_client(self.url).get(f"{PREFIX}outcome:{key}")
        return None if stored is None else Outcome(**json.loads(stored))

    async def wait(self, key: str, seconds: float) -> Outcome | None:
        """The decision once made, or None after ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            found = await self.outcome(key)
            if found is not None or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(OUTCOME_POLL_SECONDS)


class SeenCallbacks:
    """Callbacks received, by their query fingerprint, each with a short state string
    (``bot.channels.wechat_replay`` says which), for ``seconds``."""

    def __init__(self, url: str, seconds: float) -> None:
        self.url, self.seconds = url, int(max(1, seconds))

    def _key(self, fingerprint: str) -> str:
        return f"{PREFIX}seen:{fingerprint}"

    async def first(self, fingerprint: str, state: str) -> str | None:
        """None when this is the first time ``fingerprint`` is seen on any replica (``state`` is
        then recorded), else the state recorded for it."""
        client = async_client(self.url)
        if await client.set(self._key(fingerprint), state, nx=True, ex=self.seconds):
            return None
        return await client.get(self._key(fingerprint)) or ""  # "" only if it expired in between

    async def put(self, fingerprint: str, state: str) -> None:
        await async_client(self.url).set(self._key(fingerprint), state, ex=self.seconds)
