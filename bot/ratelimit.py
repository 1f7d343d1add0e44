"""Request rate limits for any of our servers: ``Limiter("120/minute").hit(key)``.

A thin wrapper over the ``limits`` library (moving window). With ``ANXIN_REDIS_URL`` set the
counts live in Redis, so every replica counts against the same limit; without it they are per
process, which is right for one worker per server. Redis down: the limiter counts in process
(each replica then allows the limit on its own) and logs it, rather than refuse everybody or
fail the request; it goes back to Redis by itself. The spec is the library's notation
("120/minute", "10 per second", "1000/hour; 50/minute"); "off" (or empty) turns the limiter
off, so every hit passes.

Imports only the standard library at import time (the Rasa server imports it): ``limits``
is loaded when the first enabled limiter is made.
"""

from __future__ import annotations

import logging
import math
import time

from bot import settings

logger = logging.getLogger(__name__)
OFF = ("off", "none", "0", "")
OUTAGE_LOG_SECONDS = 60  # one log line a minute while Redis is down, not one per request


class Limiter:
    """Counts hits per key against one or more limits ("A/minute; B/hour")."""

    def __init__(self, spec: str | None, storage_url: str | None = None) -> None:
        """``storage_url``: where the counts live (default: ``ANXIN_REDIS_URL``, else memory)."""
        self.spec = (spec or "").strip()
        self.enabled = self.spec.lower() not in OFF
        self._items: list = []
        if not self.enabled:
            return
        try:
            from limits import errors, parse_many, storage, strategies
        except ImportError as error:  # e.g. the Rasa environment, whose pins it does not fit yet
            raise RuntimeError(f"rate limit {self.spec!r} needs the `limits` package (or set it to \"off\")") from error

        try:
            self._items = parse_many(self.spec)
        except ValueError as error:
            raise ValueError(f"not a rate limit: {self.spec!r} (e.g. \"120/minute\", or \"off\")") from error
        self._memory = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self._shared = None
        self._storage_error: type[Exception] = errors.StorageError
        self._outage_logged = 0.0
        url = storage_url if storage_url is not None else settings.redis_url()
        if url:
            timeout = settings.redis_timeout_seconds()
            self._shared = strategies.MovingWindowRateLimiter(storage.storage_from_string(
                url, wrap_exceptions=True, socket_timeout=timeout, socket_connect_timeout=timeout))

    def _hit(self, limiter, key: str) -> bool:
        for item in self._items:  # all limits must allow it; test first so a refusal counts nowhere
            if not limiter.test(item, key):
                return False
        return all([limiter.hit(item, key) for item in self._items])

    def _outage(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._outage_logged >= OUTAGE_LOG_SECONDS:
            self._outage_logged = now
            logger.error("Rate-limit storage unreachable (%s): counting in this process until it is back", error)

    def hit(self, key: str) -> bool:
        """Count one request of ``key``; False when it is over a limit (and is not counted)."""
        if not self.enabled:
            return True
        if self._shared is not None:
            try:
                return self._hit(self._shared, key)
            except self._storage_error as error:
                self._outage(error)
        return self._hit(self._memory, key)

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` may send again (0 when it may now)."""
        if not self.enabled:
            return 0
        limiter = self._memory
        if self._shared is not None:
            try:
                self._shared.get_window_stats(self._items[0], key)
                limiter = self._shared
            except self._storage_error as error:
                self._outage(error)
        now, wait, exhausted = time.time(), 0.0, False
        for item in self._items:
            stats = limiter.get_window_stats(item, key)
            if stats.remaining <= 0:
                exhausted, wait = True, max(wait, stats.reset_time - now)
        return max(1, math.ceil(wait)) if exhausted else 0

