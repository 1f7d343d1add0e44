"""A customer's message starting with "/" is Rasa's syntax for an intent given directly, entities
and all ('/inform{"amount": 1}'); customer channels pass on only what the chat's own buttons
send (red team, 2026-12-06)."""

from __future__ import annotations

import pytest
import yaml

from bot.channels import inbound
from bot.channels.inbound import dialogue_text


def _button_payloads() -> set[str]:
    domain = yaml.safe_load(inbound.DOMAIN.read_text(encoding="utf-8"))
    return {button["payload"] for variants in domain["responses"].values() for variant in variants
            for button in variant.get("buttons", [])}


def test_every_button_of_the_domain_and_of_the_questionnaire_goes_through_as_sent():
    payloads = _button_payloads() | {f'/choose_option{{"option": "{n}"}}' for n in range(1, 8)}
    assert len(payloads) > 5
    for payload in payloads:
        assert dialogue_text(payload) == payload


@pytest.mark.parametrize("typed, read", [
    ('/inform{"amount": 1}', 'inform{"amount": 1}'),
    ('/transfer_money{"payee": "张三", "amount": "100"}', 'transfer_money{"payee": "张三", "amount": "100"}'),
    ('/affirm{"amount": "9000"}', 'affirm{"amount": "9000"}'),
    ('/choose_option{"option": "1", "amount": "9000"}', 'choose_option{"option": "1", "amount": "9000"}'),
    ("/123456", "123456"),
    ("//affirm", "affirm"),
    ("/affirm@0.99", "affirm@0.99"),
    ("/not_an_intent", "not_an_intent"),
    ("/ 查余额", "查余额"),
])
def test_anything_else_starting_with_a_slash_is_read_as_typed_words(typed, read):
    assert dialogue_text(typed) == read and not dialogue_text(typed).startswith("/")


def test_a_lone_slash_is_an_empty_message():
    assert dialogue_text("/") == inbound.EMPTY_MESSAGE_INTENT
    assert dialogue_text("/?") == inbound.WORDLESS_MESSAGE_INTENT


def test_without_the_domain_no_payload_passes_as_a_button(monkeypatch):
    """Failing closed: when domain.yml cannot be read, a typed '/greet' is words, not an intent."""
    from bot.channels import inbound

    monkeypatch.setattr(inbound, "_intents", lambda: None)
    assert not inbound.button_payload("/greet")
    assert not inbound.dialogue_text("/greet").startswith("/")


def test_slashes_behind_spaces_uncover_no_second_payload():
    """Found by the red team's re-test: "/ /inform{...}" lost its first slash and then its space,
    which left "/inform{...}" for Rasa's intent syntax."""
    from bot.channels import inbound

    for typed in ('/ /inform{"amount": "1"}', '/\t/inform{"amount":"7"}', "// / /greet{}"):
        assert not inbound.dialogue_text(typed).startswith("/"), typed
