"""The step-up door (bot/rasa_ext/step_up_door.py) masks every message's digits while the code
is awaited, a "/"-prefixed one too (red team, 2026-12-06: "/<code>" went round it)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from bot.identity import otp
from bot.identity.party import Party
from bot.rasa_ext import step_up_door

PENDING = {"key": "k1", "amount": "6000.00", "payee": "张三"}


class Tracker:
    active_loop_name = step_up_door.STEP_UP_FORM

    def get_slot(self, name):
        return {"requested_slot": step_up_door.CODE_SLOT, "pending_transfer": PENDING}.get(name)


@pytest.fixture
def tried(monkeypatch):
    attempts = []
    monkeypatch.setattr(step_up_door, "resolve", lambda *_: Party("C1", "rest"))
    monkeypatch.setattr(otp, "check", lambda purpose, digits, customer: attempts.append(digits))
    return attempts


@pytest.mark.parametrize("typed, passed_on", [
    ("/123456", "******"), ("//123456", "******"), ('/inform{"amount": "123456"}', 'inform{"amount": "******"}'),
    ("123 456", "******"), ("my code is 123456", "my code is ******"),
])
def test_every_message_with_digits_is_checked_and_masked_slash_or_not(tried, typed, passed_on):
    message = SimpleNamespace(text=typed, sender_id="C1", input_channel="rest", metadata={}, parse_data=None)
    asyncio.run(step_up_door.check_at_the_door(message, Tracker()))
    assert message.text == passed_on and tried == ["123456"]


@pytest.mark.parametrize("typed", ["/deny", "确认", "取消"])
def test_a_message_without_digits_is_no_attempt_and_goes_on_as_typed(tried, typed):
    message = SimpleNamespace(text=typed, sender_id="C1", input_channel="rest", metadata={}, parse_data=None)
    asyncio.run(step_up_door.check_at_the_door(message, Tracker()))
    assert message.text == typed and tried == []
