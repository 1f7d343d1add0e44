"""Bind a WeChat follower to a bank customer with a one-time code sent to the customer's
registered phone, and unbind.

The follower sends "绑定"/"bind", then the mobile number registered with the bank, then the
six-digit code the bank texted to that number. Bindings and unbindings are stored
(bot.identity.bindings) and audited with the OpenID masked.

Nobody can probe which numbers are customers: every step answers the same whether the number
is registered or not. An unregistered number gets a code too -- issued (bot.identity.otp, three
tries) but sent to nobody -- so wrong codes, tries left, the end of the tries and the lockout
read exactly as for a customer's number. An SMS gateway failure is logged, not told (it would
only ever happen to registered numbers).

Nobody can bomb a phone with codes or guess one at leisure (``BindingLimits``): codes are
limited per number typed (registered or not) and per follower (``ANXIN_BINDING_CODES_PER_PHONE``,
``_PER_FOLLOWER``), and ``ANXIN_BINDING_MAX_FAILURES`` codes tried within
``ANXIN_BINDING_LOCKOUT_SECONDS``, counted per follower and per number, lock that follower (or
that number, whoever types it) out of binding for that long. A try is counted *before* its code
is checked, in the same step that tests the lock (``BindingLimits.try_code``): a burst of
guesses sent at once once all passed the lock before the first wrong one was counted. Each code
also allows three tries, counted atomically in the database (``otp.check``).

The SMS is sent in the background (``_send_in_background``), never awaited by the reply: an
awaited gateway call, made only for a registered number, made those replies slower, and so
told which numbers are customers'. The counters are
``bot.ratelimit.Limiter``s (in Redis with ``ANXIN_REDIS_URL``, shared by every replica); the
locks and the step a follower is at live in the stores the WeChat channel gives (``locks``,
``steps``: Redis with ``ANXIN_REDIS_URL``, else this process's memory). A lost step only means
sending "绑定" again. Numbers are kept there as keyed hashes, never as digits.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import unicodedata
from dataclasses import dataclass

from bot import settings
from bot.accounts import store
from bot.compliance import audit
from bot.compliance.masking import mask
from bot.identity import bindings, delivery, otp
from bot.ratelimit import Limiter

logger = logging.getLogger(__name__)
STEP_SECONDS = 300
PHONE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})\Z")
CODE = re.compile(r"^\d{6}\Z")


@dataclass
class Step:
    name: str  # "phone" (waiting for the number) or "code" (waiting for the code)
    phone_key: str = ""  # at "code": the number's key (``BindingLimits.phone``), for the lockout


def lockout_seconds() -> int:
    """How long a follower or number stays locked after too many wrong codes."""
    return settings.binding_lockout()[1]


class BindingLimits:
    """Codes per number and per follower, wrong codes, and the locks they lead to. Keys are
    ``phone(...)`` / ``follower(...)``; ``locks`` is a get/put store whose entries last the lockout."""

    def __init__(self, locks, secret: bytes = b"") -> None:
        per_phone, per_follower = settings.binding_code_limits()
        failures, seconds = settings.binding_lockout()
        self.locks, self.secret = locks, secret
        self._codes = {"phone": Limiter(per_phone), "follower": Limiter(per_follower)}
        self._failures = Limiter(f"{failures} per {seconds} seconds")

    def phone(self, number: str) -> str:
        """A number's key: a keyed hash, so the stores never hold the digits."""
        return "phone:" + hmac.new(self.secret, number.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    @staticmethod
    def follower(open_id: str) -> str:
        return f"follower:{open_id}"

    def locked(self, *keys: str) -> bool:
        return any(key and self.locks.get(key) for key in keys)

    def may_send_code(self, follower: str, phone: str) -> bool:
        """Count a code asked for; False when the follower or the number has had its share."""
        return all(self._codes[kind].hit(f"binding-code:{key}") for kind, key in
                   (("follower", follower), ("phone", phone)))

    def try_code(self, *keys: str) -> bool:
        """Count a code about to be checked against each key, in one step with the lock test
        (no await in between, and each count one atomic hit): False when one of them is locked
        or has had its share of tries, and then the code must not be checked. A right code
        counts too: the count must be made before anybody knows whether it is right."""
        if self.locked(*keys):
            return False
        allowed = True
        for key in filter(None, keys):
            if not self._failures.hit(f"binding-failure:{key}"):
                self.locks.put(key, True)
                allowed = False
        return allowed

    def wrong_code(self, *keys: str) -> bool:
        """After a wrong code (already counted by ``try_code``): True when the tries of one of
        the keys are used up, which locks it."""
        now_locked = False
        for key in filter(None, keys):
            if self._failures.retry_after(f"binding-failure:{key}") > 0:
                self.locks.put(key, True)
                now_locked = True
        return now_locked


def _normalised(text: str) -> str:
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text)).casefold()


def _purpose(open_id: str) -> str:
    return f"wechat-bind:{open_id}"


class BindingFlow:
    """The binding conversation, answered by the connector before the dialogue sees a message."""

    def __init__(self, texts: dict, steps, locks, secret: bytes = b"") -> None:
        self.texts = texts
        self.steps = steps  # a RecentMemory[Step] keyed by OpenID
        self.limits = BindingLimits(locks, secret)
        self._sending: set[asyncio.Task] = set()  # SMS sends under way (``_send_in_background``)
        commands = texts["commands"]
        self._commands = {name: {_normalised(w) for w in words} for name, words in commands.items()}

    def _is(self, command: str, text: str) -> bool:
        return _normalised(text) in self._commands[command]

    async def answer(self, open_id: str, text: str) -> str | None:
        """The connector's reply when ``text`` belongs to the binding flow, else None."""
        step = self.steps.get(open_id)
        if self._is("unbind", text):
            self.steps.pop(open_id)
            return await asyncio.to_thread(self._unbind, open_id)
        if self._is("bind", text):
            bound = await asyncio.to_thread(bindings.customer_for, open_id)
            if bound is not None:
                return self.texts["already_bound"].format(tail=await asyncio.to_thread(self._tail, bound))
            if self.limits.locked(self.limits.follower(open_id)):
                self.steps.pop(open_id)
                return self._locked_text()
            self.steps.put(open_id, Step("phone"))
            return self.texts["ask_phone"]
        if step is None:
            return None
        if self._is("cancel", text):
            self.steps.pop(open_id)
            return self.texts["cancelled"]
        typed = _normalised(text)
        if not typed.lstrip("+").isdigit():
            return None  # a question in between: the dialogue answers it, the step stays
        if step.name == "phone":
            return await self._phone(open_id, typed)
        reply, finished = await self._code(open_id, typed, step)
        if finished:
            self.steps.pop(open_id)
        return reply

    def _locked_text(self) -> str:
        return self.texts["locked"].format(minutes=max(1, lockout_seconds() // 60))

    def _tail(self, customer_id: str) -> str:
        view = store.account(customer_id)
        return view.account_tail if view else "****"

    async def _phone(self, open_id: str, typed: str) -> str:
        match = PHONE.match(typed)
        if not match:
            return self.texts["bad_phone"]
        phone = match.group(1)
        follower, number = self.limits.follower(open_id), self.limits.phone(phone)
        if self.limits.locked(follower, number):
            self.steps.pop(open_id)
            return self._locked_text()
        if not self.limits.may_send_code(follower, number):  # counted for every number alike
            self.steps.pop(open_id)
            return self.texts["too_many_codes"]
        customer = await asyncio.to_thread(store.customer_by_phone, phone)
        # A code for every number, sent only to a customer's: what follows reads the same.
        code = await asyncio.to_thread(otp.issue, _purpose(open_id), customer or "")
        self.steps.put(open_id, Step("code", number))
        if customer is None:
            logger.info("Binding asked for an unregistered number %s", mask(phone))
        else:
            self._send_in_background(phone, code)
        return self.texts["code_sent"]

    def _send_in_background(self, phone: str, code: str) -> None:
        """Text ``code`` to ``phone`` without making the reply wait for the gateway, so the reply
        takes as long for a customer's number as for anybody's. A failure is logged, not told
        (saying so would mark the number a customer's)."""
        async def send() -> None:
            try:
                await asyncio.to_thread(delivery.send, "sms", phone, delivery.text("binding_code", "zh", code=code))
            except delivery.DeliveryError as error:
                logger.error("Binding code not sent: %s", error)
            except Exception:  # noqa: BLE001 - a background task has nobody else to tell
                logger.exception("Binding code not sent")

        task = asyncio.get_running_loop().create_task(send())
        self._sending.add(task)  # a reference, or the task may be collected before it runs
        task.add_done_callback(self._sending.discard)

    async def _code(self, open_id: str, code: str, step: Step) -> tuple[str, bool]:
        """(reply, whether the flow is over) for a code typed by the follower."""
        if not CODE.match(code):
            return self.texts["code_format"], False
        keys = (self.limits.follower(open_id), step.phone_key)
        if not self.limits.try_code(*keys):
            return self._locked_text(), True
        result = await asyncio.to_thread(otp.check, _purpose(open_id), code)
        if result.status == "ok" and result.customer_id:
            return await asyncio.to_thread(self._bind, open_id, result.customer_id), True
        if result.status in ("wrong", "locked", "ok"):  # "ok" without a customer: an unsent code guessed
            if self.limits.wrong_code(*keys):
                logger.warning("WeChat binding locked for follower %s after repeated wrong codes",
                               bindings.mask_open_id(open_id))
                return self._locked_text(), True
            if result.status == "wrong":
                return self.texts["wrong_code"].format(attempts=result.attempts_left), False
        return self.texts["failed"], True

    def _bind(self, open_id: str, customer_id: str) -> str:
        bindings.bind(open_id, customer_id)
        audit.record(customer_id, "binding", detail=f"wechat {bindings.mask_open_id(open_id)}")
        return self.texts["bound"].format(tail=self._tail(customer_id))

    def _unbind(self, open_id: str) -> str:
        customer = bindings.unbind(open_id)
        if customer is None:
            return self.texts["not_bound"]
        audit.record(customer, "unbinding", detail=f"wechat {bindings.mask_open_id(open_id)}")
        return self.texts["unbound"]
