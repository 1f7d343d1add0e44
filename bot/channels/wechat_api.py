"""WeChat's customer-service message API, for answers that miss the 5-second passive window.

One ``AccessTokenHolder`` per process: WeChat caps token fetches per day and retires the old
token a few minutes after a new fetch, so every sender must share one token, refreshed before
it expires and re-fetched once when WeChat says it is invalid. Several replicas share it through
Redis (``SharedAccessTokenHolder``, with ``ANXIN_REDIS_URL``): the token is kept there with its
expiry, and one replica at a time refreshes it under a Redis lock, so one fetch serves them all.
Non-blocking (aiohttp), because it runs inside the Rasa server's event loop. A message WeChat
refuses for good (the 48-hour window closed, the quota used up) is written to
``<state>/wechat_undelivered.jsonl`` so staff can follow up: nothing is silently lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timezone
from typing import Any

import aiohttp

from bot import settings
from bot.channels.shared_state import async_client
from bot.compliance.masking import mask

logger = logging.getLogger(__name__)
DEFAULT_API_BASE = "https://api.weixin.qq.com"
REFRESH_MARGIN_SECONDS = 300
TOKEN_ERRORS = {40001, 40014, 42001}  # invalid, malformed, expired access_token
BUSY_ERRORS = {-1}  # "system busy, try again"
RETRY_DELAYS = (0.5, 1.0, 2.0)
# WeChat allows 5 customer-service messages per follower message within 48 hours.
MAX_MESSAGES_PER_ANSWER = 5


class WeChatApiError(RuntimeError):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode


class AccessTokenHolder:
    """The one access_token of the account, fetched lazily and refreshed before expiry."""

    def __init__(self, api_base: str, app_id: str, app_secret: str, clock=time.monotonic) -> None:
        self.api_base = api_base.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def get(self, session: aiohttp.ClientSession) -> str:
        async with self._lock:  # concurrent senders wait for one fetch instead of making many
            if self._token is None or self.clock() >= self._expires_at - REFRESH_MARGIN_SECONDS:
                await self._fetch(session)
            assert self._token is not None
            return self._token

    async def invalidate(self, token: str) -> None:
        """WeChat rejected ``token``; the next ``get`` fetches a new one (unless already done)."""
        if self._token == token:
            self._token = None

    async def _fetch(self, session: aiohttp.ClientSession) -> None:
        params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret}
        async with session.get(f"{self.api_base}/cgi-bin/token", params=params) as reply:
            body = await reply.json(content_type=None)
        self.fetches += 1
        if "access_token" not in body:
            raise WeChatApiError(int(body.get("errcode", -2)), str(body.get("errmsg", "no access_token")))
        self._token = body["access_token"]
        self._expires_at = self.clock() + float(body.get("expires_in", 7200))


class CustomerServiceSender:
    """Sends text to a follower through /cgi-bin/message/custom/send."""

    def __init__(self, tokens: AccessTokenHolder, timeout: float = 10.0) -> None:
        self.tokens = tokens
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def send_texts(self, openid: str, parts: list[str]) -> None:
        """Send each part in order; parts WeChat refuses for good are kept, not dropped."""
        for index, content in enumerate(parts):
            try:
                await self._send_one(openid, content)
            except Exception as error:  # noqa: BLE001 - whatever failed, keep the rest of the answer
                logger.warning("WeChat customer-service message to %s failed: %s", mask(openid), error)
                record_undelivered(openid, parts[index:], str(error))
                return

    async def _send_one(self, openid: str, content: str) -> None:
        payload = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        refreshed = False
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                token = await self.tokens.get(self._client())
                async with self._client().post(f"{self.tokens.api_base}/cgi-bin/message/custom/send",
                                               params={"access_token": token}, data=data,
                                               headers={"Content-Type": "application/json"}) as reply:
                    if reply.status >= 500:
                        raise aiohttp.ClientResponseError(reply.request_info, (), status=reply.status)
                    body: dict[str, Any] = await reply.json(content_type=None)
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                if delay is None:
                    raise
                logger.info("WeChat API unreachable (%s); retry %d", error, attempt + 1)
                await asyncio.sleep(delay)
                continue
            errcode = int(body.get("errcode", 0))
            if errcode == 0:
                return
            if errcode in TOKEN_ERRORS and not refreshed:
                await self.tokens.invalidate(token)
                refreshed = True
                continue
            if errcode in BUSY_ERRORS and delay is not None:
                await asyncio.sleep(delay)
                continue
            raise WeChatApiError(errcode, str(body.get("errmsg", "")))
        raise WeChatApiError(-1, "gave up after retries")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def record_undelivered(openid: str, parts: list[str], reason: str) -> None:
    """Append an answer WeChat would not take to the undelivered file for staff to follow up."""
    path = settings.state_dir() / "wechat_undelivered.jsonl"
    line = json.dumps({"at": datetime.now(timezone.utc).isoformat(), "openid": openid,
                       "reason": reason, "parts": parts}, ensure_ascii=False)
    with path.open("a", encoding="utf-8") as file:
        file.write(line + "\n")


class SharedAccessTokenHolder(AccessTokenHolder):
    """The access_token in Redis for every replica: read from there; missing, expiring or
    rejected, one replica (holding the Redis lock ``anxin:wechat:token:<appid>:lock``) fetches it and stores it
    with its expiry while the others wait for the lock and then read the new one. Redis down:
    ``get`` raises, and the sender keeps the answer in the undelivered file."""

    LOCK_SECONDS = 30  # longer than a fetch can take (aiohttp's timeout is 10 s)

    def __init__(self, redis_url: str, api_base: str, app_id: str, app_secret: str) -> None:
        super().__init__(api_base, app_id, app_secret)
        self.redis_url = redis_url
        self.key = f"anxin:wechat:token:{app_id}"

    async def get(self, session: aiohttp.ClientSession) -> str:
        client = async_client(self.redis_url)
        token = await client.get(self.key)
        if token:
            return token
        async with self._lock:  # one waiter per process on the Redis lock
            lock = client.lock(f"{self.key}:lock", timeout=self.LOCK_SECONDS, blocking_timeout=self.LOCK_SECONDS)
            async with lock:
                token = await client.get(self.key)
                if token:
                    return token
                await self._fetch(session)
                assert self._token is not None
                lifetime = int(self._expires_at - self.clock() - REFRESH_MARGIN_SECONDS)
                await client.set(self.key, self._token, ex=max(60, lifetime))
                return self._token

    async def invalidate(self, token: str) -> None:
        """WeChat rejected ``token``: drop it from Redis unless another replica already replaced it."""
        await async_client(self.redis_url).eval(_DELETE_IF_EQUAL, 1, self.key, token)


# Compare-and-delete in one step: a token another replica just stored is never dropped by mistake.
_DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
