"""Unusable input gets a clear 4xx or a polite answer, and the server keeps serving."""

import requests

from tests.e2e.conftest import customer_token, said


def post_raw(servers, body: bytes) -> requests.Response:
    """A signed-in customer's request with a raw body (the token is checked before the body)."""
    return requests.post(f"{servers.rasa_url}/webhooks/rest/webhook", data=body, timeout=30,
                         headers={"Content-Type": "application/json",
                                  "Authorization": f"Bearer {customer_token('e2e-bad-input')}"})


def test_empty_message_gets_a_polite_prompt(chat):
    assert said(chat.texts(""), "utter_empty_message", "zh")
    chat.texts("hello")
    assert said(chat.texts("   "), "utter_empty_message", "en")  # in the conversation's language


def test_100kb_message_is_refused_with_413(chat):
    reply = chat.post(message="钱" * 100_000)
    assert reply.status_code == 413
    assert "too long" in reply.json()["error"]


def test_emoji_only_message_gets_a_polite_answer(chat):
    texts = chat.texts("😀😀😀")
    assert texts and all(texts)
    assert said(texts, "utter_default", "zh") or said(texts, "utter_out_of_scope", "zh") \
        or said(texts, "utter_greet", "zh")


def test_invalid_utf8_is_refused_with_400(servers):
    reply = post_raw(servers, b'{"sender": "x", "message": "\xff\xfe"}')
    assert reply.status_code == 400 and "UTF-8" in reply.json()["error"]


def test_malformed_json_is_refused_with_400(servers):
    reply = post_raw(servers, b'{"sender": "x", "message": "hi"')
    assert reply.status_code == 400 and "JSON" in reply.json()["error"]


def test_a_sender_field_is_optional_and_must_be_the_signed_in_customer(servers):
    assert post_raw(servers, b'{"message": "hi"}').status_code == 200
    assert post_raw(servers, b'{"sender": "e2e-bad-input", "message": "hi"}').status_code == 200
    reply = post_raw(servers, b'{"sender": "someone-else", "message": "hi"}')
    assert reply.status_code == 403 and "sender" in reply.json()["error"]


def test_server_keeps_serving_after_bad_input(servers, chat):
    for body in (b"\x00\x01\x02", b"null", b"{" * 5000):
        assert post_raw(servers, body).status_code == 400
    assert said(chat.texts("你好"), "utter_greet", "zh")
