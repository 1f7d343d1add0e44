"""The Rasa server signs the exact bytes it sends to the action server (bot/rasa_ext/server.py,
``signed_request``; bot/service_auth.py), however the body reaches ``EndpointConfig.request``:
as Rasa's ``json=`` dict or as bot/rasa_ext/speed.py's spliced ``data=`` bytes."""

from __future__ import annotations

import asyncio
import json

from rasa.utils.endpoints import EndpointConfig

from bot import service_auth
from bot.rasa_ext.server import signed_request

SECRET = b"a-test-secret-of-thirty-two-byte"


def sent_by(**kwargs) -> dict:
    """What the wrapped request hands to the request below it (nothing goes on the network)."""
    seen = {}

    async def below(self, method, subpath, content_type, compress=False, **rest):
        seen.update(method=method, subpath=subpath, content_type=content_type, compress=compress, **rest)
        return {"events": []}

    endpoint = EndpointConfig("http://actions.internal:5055/webhook")
    answer = asyncio.run(signed_request(below, SECRET)(endpoint, **kwargs))
    assert answer == {"events": []}
    return seen


def verified(seen: dict, secret: bytes = SECRET) -> str | None:
    return service_auth.refusal(secret, seen["headers"].get, seen["method"], "/webhook", seen["data"])


def test_a_json_body_is_encoded_once_and_those_bytes_are_signed():
    body = {"next_action": "action_check_balance", "tracker": {"sender_id": "c1", "events": []}}
    seen = sent_by(method="post", json=body, timeout=5, compress=True, headers={"X-Request-Id": "r1"})
    assert seen["data"] == json.dumps(body).encode("utf-8") and "json" not in seen
    assert verified(seen) is None
    assert seen["compress"] is False and seen["timeout"] == 5 and seen["headers"]["X-Request-Id"] == "r1"
    assert verified(seen, b"another-secret-of-thirty-two-byt") == service_auth.BAD_SIGNATURE


def test_speeds_spliced_bytes_are_signed_as_they_are():
    data = b'{"next_action": "x", "tracker": {"events": [{"event": "user"}]}}'
    seen = sent_by(method="post", data=data)
    assert seen["data"] is data and verified(seen) is None
    tampered = {**seen, "data": data.replace(b"user", b"bot")}
    assert verified(tampered) == service_auth.BAD_SIGNATURE

