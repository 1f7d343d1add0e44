import json

import pytest

from bot.channels.inbound import EMPTY_MESSAGE_INTENT, WORDLESS_MESSAGE_INTENT, InboundError, parse_body


def body(**payload):
    return json.dumps(payload).encode("utf-8")


def test_accepts_a_normal_message():
    inbound = parse_body(body(sender="u1", message="  查余额 ", metadata={"app": "1.0"}), "u1")
    assert (inbound.sender, inbound.text, inbound.metadata) == ("u1", "查余额", {"app": "1.0"})


@pytest.mark.parametrize("message", ["", "   \n\t", None, "\x00\x01"])
def test_empty_messages_become_the_empty_message_intent(message):
    assert parse_body(body(sender="u1", message=message), "u1").text == EMPTY_MESSAGE_INTENT


def test_keeps_emoji_and_drops_control_characters():
    assert parse_body(body(sender="u1", message="😀\x07好"), "u1").text == "😀好"


def test_lone_surrogates_are_replaced_not_crashing():
    raw = b'{"sender": "u1", "message": "a\\ud800b"}'
    assert parse_body(raw, "u1").text == "a?b"


@pytest.mark.parametrize("raw, status, fragment", [
    (b"\xff\xfe\x00garbage", 400, "not valid UTF-8"),
    (b'{"sender": "u1", "message": ', 400, "not valid JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (b'{"sender": "", "message": "hi"}', 403, '"sender" is not the signed-in customer'),
    (b'{"sender": "u2", "message": "hi"}', 403, '"sender" is not the signed-in customer'),
    (b'{"sender": 7, "message": "hi"}', 400, '"sender"'),
    (b'{"sender": "u1", "message": 42}', 400, '"message" must be a string'),
    (b'{"sender": "u1", "message": "hi", "metadata": [1]}', 400, '"metadata"'),
])
def test_refuses_unusable_bodies_with_a_clear_reason(raw, status, fragment):
    with pytest.raises(InboundError) as caught:
        parse_body(raw, "u1")
    assert caught.value.status == status
    assert fragment in caught.value.message


def test_refuses_oversize_messages_with_413(monkeypatch):
    monkeypatch.setenv("ANXIN_MAX_MESSAGE_CHARS", "100")
    parse_body(body(sender="u1", message="好" * 100), "u1")
    with pytest.raises(InboundError) as caught:
        parse_body(body(sender="u1", message="好" * 101), "u1")
    assert caught.value.status == 413 and "limit is 100" in caught.value.message


@pytest.mark.parametrize("message", ["😀😀😀", "???", "！！", "👍"])
def test_messages_without_any_word_are_not_guessed_at(message):
    assert parse_body(body(sender="u1", message=message), "u1").text == WORDLESS_MESSAGE_INTENT


@pytest.mark.parametrize("message", ["好的👍", "ok!", "5", "/affirm"])
def test_messages_with_words_pass_through(message):
    assert parse_body(body(sender="u1", message=message), "u1").text == message


def test_the_sender_is_the_signed_in_customer_with_or_without_a_body_sender():
    assert parse_body(body(message="hi"), "C1").sender == "C1"
    assert parse_body(body(sender="C1", message="hi"), "C1").sender == "C1"


def test_client_metadata_cannot_claim_a_shadow_customer():
    from bot.identity.party import SHADOW_KEY
    assert parse_body(body(message="hi", metadata={SHADOW_KEY: "C2", "app": "2"}), "C1").metadata == {"app": "2"}
