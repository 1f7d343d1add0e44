"""Bind a WeChat follower to a bank customer with a one-time code sent to the customer's
registered phone, and unbind.

The follower sends "绑定"/"bind", then the mobile number registered with the bank, then the
six-digit code the bank texted to that number. The answer to a phone number is the same
whether or not it is registered (nobody can probe which numbers are customers), the code
is checked at most three times (bot.identity.otp), and bindings and unbindings are stored
(bot.identity.bindings) and audited with the OpenID masked. The step a follower is at is kept
for a few minutes in the store the WeChat channel gives (``steps``: Redis with ``ANXIN_REDIS_URL``,
shared by every replica, so the next callback may land on any of them; else this process's
memory); a lost step only means sending "绑定" again.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from dataclasses import dataclass

from bot.accounts import store
from bot.compliance import audit
from bot.compliance.masking import mask
from bot.identity import bindings, delivery, otp

logger = logging.getLogger(__name__)
STEP_SECONDS = 300
PHONE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
CODE = re.compile(r"^\d{6}$")


@dataclass
class Step:
    name: str  # "phone" (waiting for the number) or "code" (waiting for the code)


def _normalised(text: str) -> str:
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text)).casefold()


def _purpose(open_id: str) -> str:
    return f"wechat-bind:{open_id}"


class BindingFlow:
    """The binding conversation, answered by the connector before the dialogue sees a message."""

    def __init__(self, texts: dict, steps) -> None:
        self.texts = texts
        self.steps = steps  # a RecentMemory[Step] keyed by OpenID
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
        reply, finished = await asyncio.to_thread(self._code, open_id, typed)
        if finished:
            self.steps.pop(open_id)
        return reply

    def _tail(self, customer_id: str) -> str:
        view = store.account(customer_id)
        return view.account_tail if view else "****"

    async def _phone(self, open_id: str, typed: str) -> str:
        match = PHONE.match(typed)
        if not match:
            return self.texts["bad_phone"]
        phone = match.group(1)
        customer = await asyncio.to_thread(store.customer_by_phone, phone)
        self.steps.put(open_id, Step("code"))
        if customer is None:  # same answer as for a registered number
            logger.info("Binding asked for an unregistered number %s", mask(phone))
            return self.texts["code_sent"]
        code = await asyncio.to_thread(otp.issue, _purpose(open_id), customer)
        try:
            await asyncio.to_thread(delivery.send, "sms", phone, delivery.text("binding_code", "zh", code=code))
        except delivery.DeliveryError as error:
            logger.error("Binding code not sent: %s", error)
            self.steps.pop(open_id)
            return self.texts["unavailable"]
        return self.texts["code_sent"]

    def _code(self, open_id: str, code: str) -> tuple[str, bool]:
        """(reply, whether the flow is over) for a code typed by the follower."""
        if not CODE.match(code):
            return self.texts["code_format"], False
        result = otp.check(_purpose(open_id), code)
        if result.status == "wrong":
            return self.texts["wrong_code"].format(attempts=result.attempts_left), False
        if result.status != "ok" or result.customer_id is None:
            return self.texts["failed"], True
        bindings.bind(open_id, result.customer_id)
        audit.record(result.customer_id, "binding", detail=f"wechat {bindings.mask_open_id(open_id)}")
        return self.texts["bound"].format(tail=self._tail(result.customer_id)), True

    def _unbind(self, open_id: str) -> str:
        customer = bindings.unbind(open_id)
        if customer is None:
            return self.texts["not_bound"]
        audit.record(customer, "unbinding", detail=f"wechat {bindings.mask_open_id(open_id)}")
        return self.texts["unbound"]
