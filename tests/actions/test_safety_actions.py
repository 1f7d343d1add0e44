import asyncio
import time

from actions.safety import ActionSafetyProtocol
from bot import handoff


def responses(dispatcher):
    return [m["response"] for m in dispatcher.messages]


def _tracker(tracker_factory, text, alert, slots=None, active_loop=None, sender="s-1"):
    tracker = tracker_factory(text, sender=sender, slots={"safety_alert": alert, **(slots or {})},
                              events=[{"event": "user", "text": text, "input_channel": "rest",
                                       "timestamp": time.time()}])
    tracker.active_loop = {"name": active_loop} if active_loop else {}
    return tracker


def test_a_crisis_gets_the_hotline_and_an_urgent_handoff_and_ends_any_form(dispatcher, tracker_factory):
    tracker = _tracker(tracker_factory, "我不想活了", "crisis", {"payee": "张三", "requested_slot": "amount"},
                       active_loop="transfer_form", sender="s-crisis")
    events = asyncio.run(ActionSafetyProtocol().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_crisis_support"]
    assert "400-161-9995" in dispatcher.messages[0]["hotline"]
    assert {"event": "active_loop", "timestamp": None, "name": None} in events
    assert {e["name"]: e["value"] for e in events if e["event"] == "slot"}["safety_alert"] is None
    [record] = handoff.recent("s-crisis")
    assert record.reason == "crisis" and record.summary["urgent"] is True


def test_a_fraud_during_a_transfer_cancels_it_first_then_says_stop(dispatcher, tracker_factory):
    tracker = _tracker(tracker_factory, "对方让我开屏幕共享", "fraud", {"pending_transfer": {"payee": "张三"}})
    events = asyncio.run(ActionSafetyProtocol().run(dispatcher, tracker, {}))
    assert responses(dispatcher)[:2] == ["utter_transfer_cancelled", "utter_fraud_stop"]
    assert {e["name"]: e["value"] for e in events if e["event"] == "slot"}["pending_transfer"] is None


def test_a_fraud_outside_a_form_says_stop_and_quotes_the_reviewed_passage(dispatcher, tracker_factory):
    tracker = _tracker(tracker_factory, "有人说是公安局的，让我把存款转到安全账户", "fraud")
    asyncio.run(ActionSafetyProtocol().run(dispatcher, tracker, {}))
    assert responses(dispatcher)[0] == "utter_fraud_stop"
    assert "utter_transfer_cancelled" not in responses(dispatcher)
