"""Request rate limits for any of our servers: ``Limiter("120/minute").hit(key)``.

A thin wrapper over the ``limits`` library (moving window). With ``ANXIN_REDIS_URL`` set the
counts live in Redis, so every replica counts against the same limit; without it they are per
process, which is right for one worker per server. Redis down: the limiter counts in process
(each replica then allows the limit on its own) and logs it, rather than refuse everybody or
fail the request; it goes back to Redis by itself. The spec is the library's notation
("120/minute", "10 per second", "1000/hour; 50/minute"); "off" (or empty) turns the limiter
off, so every hit passes.

Behind a reverse proxy every request comes from the proxy's address, so one client would spend
everybody's per-address budget: ``client_address`` reads ``X-Forwarded-For`` only when the
request comes from a proxy listed in ``ANXIN_TRUSTED_PROXIES``, and then takes the right-most
address that is not itself a trusted proxy (what a client writes further left is not evidence).

Imports only the standard library at import time (the Rasa server imports it): ``limits``
is loaded when the first enabled limiter is made.
"""

from __future__ import annotations

import ipaddress
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



def _trusted(address: str, proxies: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def forwarded_client(peer: str, forwarded_for: str | None, proxies: tuple) -> str:
    """The client behind ``peer``: ``peer`` itself unless it is a trusted proxy; then the
    right-most ``X-Forwarded-For`` entry that is not a trusted proxy (all trusted: the left-most)."""
    if not forwarded_for or not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop[:64]
    return hops[0][:64] if hops else peer


def client_address(request) -> str:
    """The address a request's per-address limit counts against (a Sanic request): the socket's
    peer, or behind a trusted proxy (``ANXIN_TRUSTED_PROXIES``) the client it forwarded for."""
    peer = str(getattr(request, "ip", "") or "unknown")
    headers = request.headers  # a proxy may add its own header line after the client's
    lines = headers.getall("x-forwarded-for", []) if hasattr(headers, "getall") else [headers.get("x-forwarded-for")]
    return forwarded_client(peer, ",".join(line for line in lines if line), settings.trusted_proxies())
