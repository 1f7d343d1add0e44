"""Request rate limits for any of our servers: ``Limiter("120/minute").hit(key)``.

A thin wrapper over the ``limits`` library (moving window, in-memory storage: the counts are
per process, which is right for one worker per server and must move to a shared storage, e.g.
Redis, before a server runs several workers). The spec is the library's notation
("120/minute", "10 per second", "1000/hour; 50/minute"); "off" (or empty) turns the limiter
off, so every hit passes.

Imports only the standard library at import time (the Rasa server imports it): ``limits``
is loaded when the first enabled limiter is made.
"""

from __future__ import annotations

import math
import time

OFF = ("off", "none", "0", "")


class Limiter:
    """Counts hits per key against one or more limits ("A/minute; B/hour")."""

    def __init__(self, spec: str | None) -> None:
        self.spec = (spec or "").strip()
        self.enabled = self.spec.lower() not in OFF
        self._items: list = []
        if not self.enabled:
            return
        try:
            from limits import parse_many, storage, strategies
        except ImportError as error:  # e.g. the Rasa environment, whose pins it does not fit yet
            raise RuntimeError(f"rate limit {self.spec!r} needs the `limits` package (or set it to \"off\")") from error

        try:
            self._items = parse_many(self.spec)
        except ValueError as error:
            raise ValueError(f"not a rate limit: {self.spec!r} (e.g. \"120/minute\", or \"off\")") from error
        self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    def hit(self, key: str) -> bool:
        """Count one request of ``key``; False when it is over a limit (and is not counted)."""
        if not self.enabled:
            return True
        for item in self._items:  # all limits must allow it; test first so a refusal counts nowhere
            if not self._limiter.test(item, key):
                return False
        return all([self._limiter.hit(item, key) for item in self._items])

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` may send again (0 when it may now)."""
        if not self.enabled:
            return 0
        now, wait, exhausted = time.time(), 0.0, False
        for item in self._items:
            stats = self._limiter.get_window_stats(item, key)
            if stats.remaining <= 0:
                exhausted, wait = True, max(wait, stats.reset_time - now)
        return max(1, math.ceil(wait)) if exhausted else 0

