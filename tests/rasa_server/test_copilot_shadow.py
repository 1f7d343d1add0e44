"""The copilot's rehearsal channel inside the Rasa server: the server token, the body it
accepts, and what it hands the dialogue (sender, input channel, and metadata only it sets)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from rasa.core.channels.channel import register
from rasa.core.run import _create_single_channel
from rasa.shared.utils.io import read_config_file
from sanic import Sanic

from bot.channels.copilot_shadow import CopilotShadowInput
from bot.identity.party import SHADOW_KEY, resolve

TOKEN = "server-token-0123456789"
AUTH = {"authorization": f"Bearer {TOKEN}"}
GOOD = {"call_id": "call-1", "customer_id": "demo-c5", "message": "有什么理财产品推荐吗"}


class Dialogue:
    """Stands in for the Rasa server's message handler: records messages, answers one line."""

    def __init__(self, fail: bool = False) -> None:
        self.messages = []
        self.fail = fail

    async def __call__(self, message) -> None:
        if self.fail:
            raise RuntimeError("dialogue broke")
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, "您好")


def post(body, headers=AUTH, token=TOKEN, dialogue=None):
    """POST /webhook of the channel's own blueprint; (status, JSON body, dialogue)."""
    dialogue = dialogue or Dialogue()
    blueprint = CopilotShadowInput.from_credentials({"token": token}).blueprint(dialogue)
    handler = next(r.handler for r in blueprint._future_routes if r.uri == "/webhook")
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    reply = asyncio.run(handler(SimpleNamespace(headers=headers, body=raw)))
    return reply.status, json.loads(reply.body), dialogue


def test_a_shadow_turn_is_the_calls_conversation_for_the_calls_customer():
    status, body, dialogue = post(GOOD)
    assert status == 200 and body == [{"recipient_id": "copilot:call-1", "text": "您好"}]
    [message] = dialogue.messages
    assert (message.sender_id, message.input_channel, message.text) == ("copilot:call-1", "copilot", GOOD["message"])
    assert message.metadata == {SHADOW_KEY: "demo-c5"}
    party = resolve(message.sender_id, message.input_channel, message.metadata)
    assert (party.customer_id, party.shadow) == ("demo-c5", True)


def test_nothing_in_the_body_sets_other_metadata_or_another_sender():
    sneaky = {**GOOD, "sender": "demo-c1", "metadata": {SHADOW_KEY: "demo-c1", "anything": 1},
              "input_channel": "rest", SHADOW_KEY: "demo-c1"}
    status, _, dialogue = post(sneaky)
    [message] = dialogue.messages
    assert status == 200 and message.metadata == {SHADOW_KEY: "demo-c5"}
    assert (message.sender_id, message.input_channel) == ("copilot:call-1", "copilot")


@pytest.mark.parametrize("headers", [{}, {"authorization": ""}, {"authorization": "Bearer "},
                                     {"authorization": "Bearer wrong-token"}, {"authorization": TOKEN},
                                     {"authorization": f"Basic {TOKEN}"},
                                     {"authorization": f"Bearer {TOKEN[:-1]}"},
                                     {"authorization": f"Bearer {TOKEN}x"}])
def test_only_the_server_token_gets_in(headers):
    status, body, dialogue = post(GOOD, headers=headers)
    assert status == 401 and "token" in body["error"] and dialogue.messages == []


@pytest.mark.parametrize("token", [None, ""])
def test_without_a_configured_token_the_channel_is_off(token):
    status, body, dialogue = post(GOOD, headers={"authorization": "Bearer "}, token=token)
    assert status == 503 and "not configured" in body["error"] and dialogue.messages == []


@pytest.mark.parametrize("body, status, says", [
    (b"not json", 400, "not valid JSON"), (b"\xff\xfe", 400, "UTF-8"), (b"[1, 2]", 400, "JSON object"),
    ({"customer_id": "demo-c5", "message": "hi"}, 400, "call_id"),
    ({**GOOD, "call_id": "x" * 65}, 400, "call_id"), ({**GOOD, "call_id": "a/b"}, 400, "call_id"),
    ({**GOOD, "customer_id": None}, 400, "customer_id"), ({**GOOD, "customer_id": ""}, 400, "customer_id"),
    ({**GOOD, "customer_id": "copilot:other"}, 400, "customer_id"), ({**GOOD, "customer_id": 5}, 400, "customer_id"),
    ({**GOOD, "message": None}, 400, "message"), ({**GOOD, "message": ["hi"]}, 400, "message"),
    ({**GOOD, "message": "长" * 2001}, 413, "too long"), (b"{" + b" " * (64 * 1024) + b"}", 413, "larger"),
])
def test_bad_bodies_get_a_clear_error_and_never_reach_the_dialogue(body, status, says):
    got, reply, dialogue = post(body)
    assert (got, dialogue.messages) == (status, []) and says in reply["error"]


def test_an_empty_message_is_the_empty_message_intent():
    _, _, dialogue = post({**GOOD, "message": "  "})
    assert dialogue.messages[0].text == "/empty_message"


def test_a_failing_dialogue_is_a_503_not_an_empty_answer():
    status, body, _ = post(GOOD, dialogue=Dialogue(fail=True))
    assert status == 503 and "retry" in body["error"]


def test_credentials_yml_configures_it_with_the_server_token(monkeypatch):
    monkeypatch.setenv("ANXIN_API_TOKEN", TOKEN)
    for name in ("WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_ENCODING_AES_KEY", "WECHAT_API_BASE",
                 "ANXIN_APP_JWT_SECRET", "ANXIN_APP_JWT_PUBLIC_KEY"):
        monkeypatch.setenv(name, "")  # what bot.servers sets when unset
    credentials = read_config_file("credentials.yml")
    entry = credentials["bot.channels.copilot_shadow.CopilotShadowInput"]
    channel = _create_single_channel("bot.channels.copilot_shadow.CopilotShadowInput", entry)
    assert isinstance(channel, CopilotShadowInput) and channel.token == TOKEN and channel.name() == "copilot"
    app = Sanic("shadow_routes_test")
    register([channel], app, route="/webhooks/")
    assert any(route.path == "webhooks/copilot/webhook" and "POST" in route.methods
               for route in app.router.routes)
