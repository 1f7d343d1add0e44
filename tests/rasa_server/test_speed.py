"""The selective-domain protocol of bot/rasa_ext/speed.py against an action server that keeps
domains by digest, as rasa-sdk does: the first call carries only the digest and is answered 449,
so it is sent again with the domain; later calls carry only the digest and are answered at once.
A new domain (a new model) has a new digest and is sent again. Kept sessions reuse one client."""

import asyncio
import json

from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from bot.rasa_ext import speed

DOMAIN = Domain.load("domain.yml")


class DigestKeepingActionServer:
    """Answers 449 to a call whose digest it does not know and that carries no domain."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.known: set[str] = set()

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(body)
        digest = body.get("domain_digest")
        if "domain" in body:
            self.known.add(digest)
        elif digest not in self.known:
            return web.json_response({"error": "send the domain"}, status=449)
        return web.json_response({"events": [], "responses": []})


async def exchange(domains: list[Domain]) -> tuple[DigestKeepingActionServer, list[dict]]:
    server = DigestKeepingActionServer()
    app = web.Application()
    app.router.add_post("/webhook", server.webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", enable_selective_domain=True)
        action = RemoteAction("action_check_balance", endpoint)
        tracker = DialogueStateTracker.from_events("c-speed", [UserUttered("查余额")])
        answers = []
        for domain in domains:
            body = action._action_call_format(tracker, domain)
            answers.append(await endpoint.request(json=body, method="post", timeout=5))
        return server, answers
    finally:
        await runner.cleanup()


def test_the_domain_is_sent_once_per_digest_and_the_call_retried_on_449():
    speed.install()
    other = Domain.from_dict({**DOMAIN.as_dict(), "intents": [*DOMAIN.as_dict()["intents"], "an_intent_added"]})
    server, answers = asyncio.run(exchange([DOMAIN, DOMAIN, DOMAIN, other]))
    assert answers == [{"events": [], "responses": []}] * 4
    with_domain = ["domain" in call for call in server.calls]
    assert with_domain == [False, True, False, False, False, True]  # 449, retried; known; known; new: 449, retried
    assert len({call["domain_digest"] for call in server.calls}) == 2
    assert server.calls[1]["domain"] == DOMAIN.as_dict()


def test_a_real_error_is_not_retried():
    speed.install()

    async def failing() -> int:
        app = web.Application()
        calls = []

        async def webhook(request: web.Request) -> web.Response:
            calls.append(await request.json())
            return web.json_response({"error": "boom"}, status=500)

        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", enable_selective_domain=True)
        action = RemoteAction("action_check_balance", endpoint)
        body = action._action_call_format(DialogueStateTracker.from_events("c-speed", []), DOMAIN)
        try:
            await endpoint.request(json=body, method="post", timeout=5)
        except ClientResponseError as error:
            assert error.status == 500
        finally:
            await runner.cleanup()
        return len(calls)

    assert asyncio.run(failing()) == 1


def test_an_action_call_body_made_from_kept_event_json_is_the_json_rasa_would_send():
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet

    speed.install()
    buttons = {"buttons": [{"title": "是", "payload": "/affirm"}]}
    said = UserUttered("我的基金跌了20%", {"name": "worry_loss", "confidence": 0.8})
    events = [ActionExecuted("action_listen"), said,
              SlotSet("language", "zh"), BotUttered("您好 \"引号\" \u2028", buttons, {"message_id": "m1"})]
    tracker = DialogueStateTracker.from_events("c-json", events)
    action = RemoteAction("action_check_balance", EndpointConfig("http://127.0.0.1:1/webhook",
                                                                  enable_selective_domain=True))
    rasa_s = RemoteAction._action_call_format.original(action, tracker, DOMAIN)
    for _ in range(2):  # the second time from the kept pieces
        body = action._action_call_format(tracker, DOMAIN)
        assert {k: v for k, v in body.items() if k != "domain_digest"} == rasa_s
        sent = speed._encoded_body({"json": body, "method": "post"})
        assert "json" not in sent and sent["method"] == "post"
        assert sent["data"] == json.dumps(body).encode("utf-8")
        assert json.loads(sent["data"])["tracker"]["events"] == [e.as_dict() for e in events]
    events[-1].timestamp += 5  # what Rasa does to an action's events just before they join the tracker
    body = action._action_call_format(tracker, DOMAIN)
    assert json.loads(speed._encoded_body({"json": body})["data"])["tracker"]["events"][-1]["timestamp"] == \
        events[-1].timestamp
    assert speed._encoded_body({"json": {"no": "tracker"}}) == {"json": {"no": "tracker"}}


def test_an_action_call_carries_the_latest_turns_whole(monkeypatch):
    """With ANXIN_ACTION_TURNS=N the events from the N-th last customer message on, exactly as
    Rasa sends them; slots and the latest message as Rasa sends them; 0 sends everything."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet

    speed.install()
    events = []
    for turn in range(30):
        events += [ActionExecuted("action_listen"), UserUttered(f"第{turn}句", {"name": "greet"}),
                   SlotSet("language", "zh"), ActionExecuted("utter_greet"), BotUttered(f"答{turn}")]
    tracker = DialogueStateTracker.from_events("c-turns", events)
    action = RemoteAction("action_check_balance", EndpointConfig("http://127.0.0.1:1/webhook",
                                                                  enable_selective_domain=True))
    rasa_s = RemoteAction._action_call_format.original(action, tracker, DOMAIN)
    monkeypatch.setenv("ANXIN_ACTION_TURNS", "4")
    body = action._action_call_format(tracker, DOMAIN)
    sent = json.loads(speed._encoded_body({"json": body})["data"])["tracker"]
    assert sent["events"] == rasa_s["tracker"]["events"][-4 * 5 + 1:]  # from the 4th last message
    assert sent["events"][0]["text"] == "第26句"
    assert {k: v for k, v in sent.items() if k != "events"} == \
        json.loads(json.dumps({k: v for k, v in rasa_s["tracker"].items() if k != "events"}))
    for everything in ("0", "100"):
        monkeypatch.setenv("ANXIN_ACTION_TURNS", everything)
        body = action._action_call_format(tracker, DOMAIN)
        assert json.loads(speed._encoded_body({"json": body})["data"])["tracker"]["events"] == \
            json.loads(json.dumps(rasa_s["tracker"]["events"]))


def test_the_action_server_receives_every_event_of_the_conversation():
    speed.install()
    server, _ = asyncio.run(exchange([DOMAIN, DOMAIN]))
    expected = UserUttered("查余额").as_dict()
    for call in server.calls:  # through aiohttp to a server: the body parses, the event is whole
        (event,) = call["tracker"]["events"]
        assert event == {**expected, "timestamp": event["timestamp"]} and event["text"] == "查余额"


def test_a_model_loaded_without_the_training_step_is_the_model_rasa_loads():
    """The trained model (models/anxin.tar.gz) loaded both ways: the same weights, the same
    labels' embeddings, the same intent confidences and action predictions."""
    import numpy as np
    from rasa.core.agent import Agent
    from rasa.utils.tensorflow.models import RasaModel

    speed.install()
    patched = RasaModel.load
    before = patched.__func__.loaded_without_training_step
    fast = Agent.load("models/anxin.tar.gz")
    assert patched.__func__.loaded_without_training_step == before + 2  # DIET and TED, the new way
    try:
        RasaModel.load = classmethod(patched.__func__.original)
        rasa_s = Agent.load("models/anxin.tar.gz")
    finally:
        RasaModel.load = patched

    def models(agent):
        nodes = agent.processor.graph_runner._instantiated_nodes
        return {name: node._component.model for name, node in sorted(nodes.items())
                if getattr(getattr(node, "_component", None), "model", None) is not None
                and isinstance(node._component.model, RasaModel)}

    fast_models, rasa_models = models(fast), models(rasa_s)
    assert len(fast_models) == 2 and fast_models.keys() == rasa_models.keys()  # DIET and TED
    for name, model in fast_models.items():
        other = rasa_models[name]
        assert [w.name for w in model.weights] == [w.name for w in other.weights]
        for mine, theirs in zip(model.get_weights(), other.get_weights(), strict=True):
            np.testing.assert_array_equal(mine, theirs)
        np.testing.assert_allclose(model.all_labels_embed.numpy(), other.all_labels_embed.numpy(), atol=1e-6)

    for text in ("查一下余额", "我想转账给张三500元", "我的基金跌了20%，好担心", "what can I invest in?", "hi"):
        mine, theirs = asyncio.run(fast.parse_message(text)), asyncio.run(rasa_s.parse_message(text))
        ranking = {i["name"]: i["confidence"] for i in theirs["intent_ranking"]}
        for intent in mine["intent_ranking"]:
            assert abs(intent["confidence"] - ranking[intent["name"]]) < 1e-5, text
    tracker = DialogueStateTracker.from_events("c-load", [], fast.domain.slots)
    tracker.update(UserUttered("查一下余额", {"name": "check_balance", "confidence": 1.0}))
    mine = fast.processor._predict_next_with_tracker(tracker)
    theirs = rasa_s.processor._predict_next_with_tracker(tracker)
    np.testing.assert_allclose(mine.probabilities, theirs.probabilities, atol=1e-5)
