"""WeChat official account (公众号) as a Rasa input channel: ``/webhooks/wechat/webhook``.

WeChat gives a server 5 seconds, then retries the same message up to three times. So every
callback is checked and read (``wechat_protocol``), its dialogue turn is started once per
MsgId (a retry joins the turn already running, never a second one), and the answer goes back:

- passively, as the XML reply, when the dialogue answers within ``ANXIN_WECHAT_PASSIVE_SECONDS``
  (default 4.5 s): the bot messages merged into as few texts as possible (the risk warning
  always a text of its own, before any product), split at 2048 bytes, the parts after the
  first sent through the customer-service API;
- otherwise the reply is ``success`` and the whole answer follows through the customer-service
  API (``wechat_api``), with the one shared access_token.

With ``ANXIN_REDIS_URL`` set, several Rasa replicas serve one account: the MsgId's turn is
claimed, and its delivery decided, in Redis (``shared_state``), so a retry landing on another
replica joins the first turn (it answers with the same passive reply, or ``success`` while the
replica running the turn delivers through the API), never a second one; the numbered choices,
the binding step and the access_token are shared there too. Without it, all of that stays in
this process.

Before any of that a callback must be authentic and fresh: signed, encrypted when an
EncodingAESKey is configured (a plain-text callback is then refused: its body would be signed
by nothing), stamped within ``ANXIN_WECHAT_TIMESTAMP_WINDOW`` of our clock, and not a copy of
one already answered (``wechat_replay``). Every refusal is a 403 (400/413 for malformed or
oversize ones), a log line and ``anxin_wechat_refused_total{reason}``.

A handoff is answered with ``transfer_customer_service`` (WeChat routes the follower to staff)
and the bot's handoff text follows through the API. Quick-reply buttons, which WeChat text
cannot show, become numbered choices the follower answers with a digit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import metrics, settings
from bot.channels import wechat_binding as binding_flow
from bot.channels import wechat_protocol as protocol
from bot.channels.inbound import InboundError, dialogue_text
from bot.channels.shared_state import Outcome, RedisError, SharedMemory, TurnClaims, dataclass_memory
from bot.channels.wechat_api import (
    DEFAULT_API_BASE,
    MAX_MESSAGES_PER_ANSWER,
    AccessTokenHolder,
    CustomerServiceSender,
    SharedAccessTokenHolder,
)
from bot.channels.wechat_binding import BindingFlow
from bot.channels.wechat_replay import ReplayGuard
from bot.compliance import guard
from bot.compliance.masking import mask
from bot.language import detect_language
from bot.ratelimit import Limiter

logger = logging.getLogger(__name__)
TEXTS = yaml.safe_load((Path(__file__).with_name("wechat_texts.yml")).read_text(encoding="utf-8"))
SUCCESS = "success"  # WeChat's "received, nothing to say now"
TURN_MEMORY_SECONDS = 600  # WeChat retries within ~15 s; keep turns well past that
MAX_TURNS_REMEMBERED = 50_000
CHOICE_MEMORY_SECONDS = 1800
MAX_CHOICES_REMEMBERED = 50_000


@dataclass
class Answer:
    """What the dialogue said: text parts (already merged and split) and whether it handed off."""

    parts: list[str]
    handoff: bool = False


@dataclass
class Turn:
    """One follower message (or event) and its dialogue turn, shared by WeChat's retries."""

    task: asyncio.Task
    mode: str | None = None  # None while undecided, then "passive" or "async"
    passive_xml: str | None = None
    deciding: asyncio.Lock = field(default_factory=asyncio.Lock)  # one decision, however many retries

    @property
    def succeeded(self) -> bool:
        return self.task.done() and not self.task.cancelled() and self.task.exception() is None


V = TypeVar("V")


class RecentMemory(Generic[V]):
    """Values by key, forgotten ``seconds`` after they were put or, oldest first, once more than
    ``size`` are kept; a value ``pinned`` says must stay is kept past its time (not past the size)."""

    def __init__(self, seconds: float, size: int, pinned: Callable[[V], bool] = lambda _: False) -> None:
        self.seconds, self.size, self.pinned = seconds, size, pinned
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str) -> V | None:
        stamp, value = self._items.get(key, (0.0, None))
        if value is None or (time.monotonic() - stamp >= self.seconds and not self.pinned(value)):
            return None
        return value

    def put(self, key: str, value: V) -> None:
        now = time.monotonic()
        self._items[key] = (now, value)
        self._items.move_to_end(key)
        while self._items:
            oldest_key, (stamp, oldest) = next(iter(self._items.items()))
            if len(self._items) <= self.size and (now - stamp < self.seconds or self.pinned(oldest)):
                break
            self._items.pop(oldest_key)

    def pop(self, key: str) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items


class TurnMemory(RecentMemory[Turn]):
    """Recent turns by de-duplication key; a turn still running is never forgotten for its age."""

    def __init__(self, seconds: float = TURN_MEMORY_SECONDS, size: int = MAX_TURNS_REMEMBERED) -> None:
        super().__init__(seconds, size, pinned=lambda turn: not turn.task.done())


def passive_seconds() -> float:
    """How long a callback waits for the dialogue before answering ``success``."""
    return float(os.environ.get("ANXIN_WECHAT_PASSIVE_SECONDS", "4.5"))


def merge_messages(messages: list[dict[str, Any]]) -> tuple[list[str], list[str], bool]:
    """Bot messages -> the texts to send (one or more groups of merged messages), the payloads
    of the numbered choices, and the handoff flag.

    Messages are merged into as few WeChat texts as possible, except that the mandatory risk
    warning is always a text of its own (rule 3: the warning is its own message, before any
    product), so a passive reply carries what came before it, the warning follows alone, and
    the products come after it — in passive and asynchronous delivery alike.
    """
    groups: list[list[str]] = [[]]
    payloads: list[str] = []
    handoff = False
    for message in messages:
        text = message.get("text")
        if text and guard.carries_warning(text):
            groups += [[text], []]
        elif text:
            groups[-1].append(text)
        if (message.get("custom") or {}).get("handoff"):
            handoff = True
        buttons = message.get("buttons") or []
        if buttons:
            language = detect_language("".join(t for group in groups for t in group))
            lines = [TEXTS["choices_hint"][language]]
            for button in buttons:
                payloads.append(button.get("payload") or button.get("title", ""))
                lines.append(f"{len(payloads)}. {button.get('title', '')}")
            groups[-1].append("\n".join(lines))
    return ["\n\n".join(group) for group in groups if group], payloads, handoff


class WeChatInput(InputChannel):
    """The connector; credentials.yml fills token, app_id, app_secret, encoding_aes_key, api_base."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WeChatInput:
        credentials = credentials or {}
        return cls(protocol.Credentials(token=credentials.get("token") or "",
                                        app_id=credentials.get("app_id") or "",
                                        app_secret=credentials.get("app_secret") or "",
                                        encoding_aes_key=credentials.get("encoding_aes_key") or ""),
                   api_base=credentials.get("api_base") or DEFAULT_API_BASE)

    def __init__(self, credentials: protocol.Credentials, api_base: str = DEFAULT_API_BASE) -> None:
        self.credentials = credentials
        self.turns = TurnMemory()  # this replica's running turns; with Redis, claimed there first
        shared = settings.redis_url()
        self.replays = ReplayGuard(settings.wechat_timestamp_window(), shared)
        if credentials.token and not credentials.encoding_aes_key:
            logger.warning("WeChat channel in plain mode (no WECHAT_ENCODING_AES_KEY): callback bodies are "
                           "not signed; use secure mode (安全模式) outside tests")
        self.claims = TurnClaims(shared, TURN_MEMORY_SECONDS) if shared else None
        if shared:
            self.tokens: AccessTokenHolder = SharedAccessTokenHolder(shared, api_base, credentials.app_id,
                                                                     credentials.app_secret)
            self.choices: RecentMemory[list[str]] | SharedMemory[list[str]] = SharedMemory(
                shared, "choices", CHOICE_MEMORY_SECONDS)
            steps = dataclass_memory(shared, "binding-step", binding_flow.STEP_SECONDS, binding_flow.Step)
            locks: RecentMemory[bool] | SharedMemory[bool] = SharedMemory(
                shared, "binding-lock", binding_flow.lockout_seconds())
        else:
            self.tokens = AccessTokenHolder(api_base, credentials.app_id, credentials.app_secret)
            self.choices = RecentMemory(CHOICE_MEMORY_SECONDS, MAX_CHOICES_REMEMBERED)
            steps = RecentMemory(binding_flow.STEP_SECONDS, MAX_CHOICES_REMEMBERED)
            locks = RecentMemory(binding_flow.lockout_seconds(), MAX_CHOICES_REMEMBERED)
        self.sender = CustomerServiceSender(self.tokens)
        self.by_follower = Limiter(settings.rate_limit("wechat"))
        self.binding = BindingFlow(TEXTS["binding"], steps, locks, credentials.token.encode("utf-8"))
        self._background: set[asyncio.Task] = set()
        self.wait_seconds = passive_seconds()

    # -- the dialogue -------------------------------------------------------------------

    def _resolve_choice(self, openid: str, text: str) -> str:
        """A digit answering the numbered choices of the bot's last message -> its payload."""
        payloads = self.choices.get(openid)
        digits = unicodedata.normalize("NFKC", text).strip().rstrip(".。")
        if payloads and digits.isdigit() and 0 < int(digits) <= len(payloads):
            return payloads[int(digits) - 1]
        return text

    def _dialogue_input(self, callback: protocol.Callback) -> str | Answer:
        """The text for the dialogue, or an Answer given without it."""
        if callback.kind == "event":
            if callback.event == "subscribe":
                return TEXTS["subscribe"]
            if callback.event == "click":
                return TEXTS["menu"].get(callback.event_key) or Answer([TEXTS["unknown_menu"]])
            return Answer([])  # unsubscribe, view, location, ...: nothing to say
        if callback.kind != "text" and not (callback.kind == "voice" and callback.text):
            return Answer([TEXTS["non_text"]])
        try:
            return dialogue_text(self._resolve_choice(callback.openid, callback.text))
        except InboundError:
            return Answer([TEXTS["too_long"]])

    async def _answer(self, callback: protocol.Callback,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Answer:
        given = self._dialogue_input(callback)
        if isinstance(given, Answer):
            return given
        if not self.by_follower.hit(callback.openid):  # retries join their turn before this: not counted
            metrics.RATE_LIMITED.labels("wechat").inc()
            return Answer([TEXTS["rate_limited"]])
        try:
            bound = await self.binding.answer(callback.openid, given)
        except Exception:  # noqa: BLE001 - the follower still gets an answer
            logger.exception("Binding flow failed for WeChat follower %s", mask(callback.openid))
            return Answer([TEXTS["failure"]])
        if bound is not None:
            return Answer([bound])
        collector = CollectingOutputChannel()
        try:
            await on_new_message(UserMessage(given, collector, callback.openid, input_channel=self.name(),
                                             metadata={"wechat_account": callback.account}))
        except Exception:  # noqa: BLE001 - the follower still gets an answer
            logger.exception("Dialogue failed for WeChat follower %s", mask(callback.openid))
            return Answer([TEXTS["failure"]])
        groups, payloads, handoff = merge_messages(collector.messages)
        if payloads:
            self.choices.put(callback.openid, payloads)
        else:
            self.choices.pop(callback.openid)
        parts = [part for group in groups if group.strip() for part in protocol.split_for_wechat(group)]
        parts = parts or [TEXTS["no_reply"]]
        return Answer(parts[:MAX_MESSAGES_PER_ANSWER], handoff)

    # -- delivery -----------------------------------------------------------------------

    def _send_later(self, openid: str, parts: list[str]) -> None:
        if not parts:
            return
        task = asyncio.get_running_loop().create_task(self.sender.send_texts(openid, parts))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _deliver_after_deadline(self, openid: str, turn: Turn) -> None:
        self._send_later(openid, turn.task.result().parts if turn.succeeded else [TEXTS["failure"]])

    @staticmethod
    def _proposal(callback: protocol.Callback, turn: Turn) -> Outcome:
        """Passive when the answer is there, else asynchronous."""
        if not turn.succeeded:
            return Outcome("async")
        answer: Answer = turn.task.result()
        if not answer.parts:
            return Outcome("passive")
        if answer.handoff:
            return Outcome("passive", protocol.transfer_reply(callback))
        return Outcome("passive", protocol.text_reply(callback, answer.parts[0]))

    async def _decide(self, callback: protocol.Callback, turn: Turn) -> None:
        """Decide, once for every delivery of the message on every replica, how the answer goes out;
        this replica runs the turn, so it sends whatever the passive reply does not carry."""
        async with turn.deciding:
            if turn.mode is not None:
                return
            outcome = self._proposal(callback, turn)
            if self.claims is not None:
                try:
                    outcome = await self.claims.decide(callback.dedupe_key, outcome)
                except RedisError as error:  # the retries elsewhere will answer "success": deliver now
                    logger.error("Redis unreachable (%s): WeChat answer to %s goes through the API",
                                 error, mask(callback.openid))
                    outcome = Outcome("async")
            turn.mode, turn.passive_xml = outcome.mode, outcome.xml
            metrics.WECHAT_DELIVERIES.labels(outcome.mode).inc()
            if outcome.mode == "async":
                turn.task.add_done_callback(lambda _: self._deliver_after_deadline(callback.openid, turn))
                return
            answer: Answer = turn.task.result()
            self._send_later(callback.openid, answer.parts if answer.handoff else answer.parts[1:])

    def _sealed(self, callback: protocol.Callback, xml: str | None, args: dict[str, str]) -> HTTPResponse:
        if xml is None:
            return response.text(SUCCESS)
        sealed = protocol.seal(self.credentials, callback, xml,
                               args.get("nonce", ""), args.get("timestamp") or str(int(time.time())))
        return response.text(sealed, content_type="application/xml; charset=utf-8")

    async def _reply(self, callback: protocol.Callback, turn: Turn, args: dict[str, str]) -> HTTPResponse:
        if turn.mode is None:
            await asyncio.wait({turn.task}, timeout=self.wait_seconds)
            await self._decide(callback, turn)
        return self._sealed(callback, turn.passive_xml if turn.mode == "passive" else None, args)

    async def _join_elsewhere(self, callback: protocol.Callback, args: dict[str, str]) -> HTTPResponse:
        """A delivery of a message whose turn another replica runs: answer as that turn's
        delivery was decided; undecided after our own wait, decide "async" (the other replica
        then delivers through the API)."""
        assert self.claims is not None
        key = callback.dedupe_key
        outcome = await self.claims.wait(key, self.wait_seconds)
        if outcome is None:
            outcome = await self.claims.decide(key, Outcome("async"))
        return self._sealed(callback, outcome.xml if outcome.mode == "passive" else None, args)

    @staticmethod
    def _refused(error: protocol.CallbackError) -> HTTPResponse:
        reason = metrics.bounded(error.reason, metrics.WECHAT_REFUSALS)
        logger.warning("Refused a WeChat callback (%s): %s", reason, error.message)
        metrics.WECHAT_REFUSED.labels(reason).inc()
        return response.text(error.message, status=error.status)

    async def _turn_reply(self, callback: protocol.Callback, args: dict[str, str],
                          on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        """Start the message's turn on its first delivery, or join it (a retry), and reply."""
        turn = self.turns.get(callback.dedupe_key)
        if turn is None and self.claims is not None:  # another replica may have it
            try:
                if not await self.claims.claim(callback.dedupe_key):
                    return await self._join_elsewhere(callback, args)
            except RedisError as error:
                return self._busy(callback, error, args)
        if turn is None:  # the first delivery; retries find it and join
            task = asyncio.get_running_loop().create_task(self._answer(callback, on_new_message))
            turn = Turn(task)
            self.turns.put(callback.dedupe_key, turn)
        return await self._reply(callback, turn, args)

    def _busy(self, callback: protocol.Callback, error: Exception, args: dict[str, str]) -> HTTPResponse:
        logger.error("Redis unreachable (%s): WeChat follower %s told the service is busy", error,
                     mask(callback.openid))
        return self._sealed(callback, protocol.text_reply(callback, TEXTS["failure"]), args)

    # -- HTTP -----------------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("anxin_wechat", __name__)

        def not_configured() -> HTTPResponse | None:
            if self.credentials.token:
                return None
            return response.text("the WeChat channel is not configured (set WECHAT_TOKEN)", status=503)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.credentials.token else "not configured",
                                  "secure_mode": bool(self.credentials.encoding_aes_key)})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            refused = not_configured()
            if refused:
                return refused
            try:
                return response.text(protocol.verify_url(self.credentials, _args(request)))
            except protocol.CallbackError as error:
                return response.text(error.message, status=error.status)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            refused = not_configured()
            if refused:
                return refused
            args = _args(request)
            try:  # authentic (signatures, secure mode) first, so "stale" counts only genuine ones
                callback = protocol.read_callback(self.credentials, args, request.body or b"")
                self.replays.check_time(args)
                fingerprint = await self.replays.admit(args, callback.dedupe_key)
            except protocol.CallbackError as error:
                return self._refused(error)
            except RedisError as error:  # copies cannot be told apart now: take nothing
                return self._busy(callback, error, args)
            try:
                return await self._turn_reply(callback, args, on_new_message)
            finally:
                try:
                    await self.replays.answered(fingerprint, callback.dedupe_key)
                except RedisError as error:
                    logger.error("Redis unreachable (%s): a WeChat delivery stays marked in flight", error)

        return webhook


def _args(request: Request) -> dict[str, str]:
    return {key: request.args.get(key) or "" for key in request.args}

