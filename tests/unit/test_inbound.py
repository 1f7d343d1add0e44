import json

import pytest

from bot.channels.inbound import EMPTY_MESSAGE_INTENT, WORDLESS_MESSAGE_INTENT, InboundError, parse_body


def body(**payload):
    return json.dumps(payload).encode("utf-8")


def test_accepts_a_normal_message():
    inbound = parse_body(body(sender="u1", message="  查余额 ", metadata={"app": "1.0"}))
    assert (inbound.sender, inbound.text, inbound.metadata) == ("u1", "查余额", {"app": "1.0"})


@pytest.mark.parametrize("message", ["", "   \n\t", None, "\x00\x01"])
def test_empty_messages_become_the_empty_message_intent(message):
    assert parse_body(body(sender="u1", message=message)).text == EMPTY_MESSAGE_INTENT


def test_keeps_emoji_and_drops_control_characters():
    assert parse_body(body(sender="u1", message="😀\x07好")).text == "😀好"


def test_lone_surrogates_are_replaced_not_crashing():
    raw = b'{"sender": "u1", "message": "a\\ud800b"}'
    assert parse_body(raw).text == "a?b"


@pytest.mark.parametrize("raw, status, fragment", [
    (b"\xff\xfe\x00garbage", 400, "not valid UTF-8"),
    (b'{"sender": "u1", "message": ', 400, "not valid JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (b'{"message": "hi"}', 400, '"sender"'),
    (b'{"sender": "", "message": "hi"}', 400, '"sender"'),
    (b'{"sender": "u1", "message": 42}', 400, '"message" must be a string'),
    (b'{"sender": "u1", "message": "hi", "metadata": [1]}', 400, '"metadata"'),
])
def test_refuses_unusable_bodies_with_a_clear_reason(raw, status, fragment):
    with pytest.raises(InboundError) as caught:
        parse_body(raw)
    assert caught.value.status == status
    assert fragment in caught.value.message


def test_refuses_oversize_messages_with_413(monkeypatch):
    monkeypatch.setenv("ANXIN_MAX_MESSAGE_CHARS", "100")
    parse_body(body(sender="u1", message="好" * 100))
    with pytest.raises(InboundError) as caught:
        parse_body(body(sender="u1", message="好" * 101))
    assert caught.value.status == 413 and "limit is 100" in caught.value.message


@pytest.mark.parametrize("message", ["😀😀😀", "???", "！！", "👍"])
def test_messages_without_any_word_are_not_guessed_at(message):
    assert parse_body(body(sender="u1", message=message)).text == WORDLESS_MESSAGE_INTENT


@pytest.mark.parametrize("message", ["好的👍", "ok!", "5", "/affirm"])
def test_messages_with_words_pass_through(message):
    assert parse_body(body(sender="u1", message=message)).text == message
