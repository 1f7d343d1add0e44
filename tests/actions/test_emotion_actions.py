import asyncio

import pytest

from actions.emotion import ActionHandoffWithSummary, ActionMarketFacts
from actions.sense import ActionSenseMessage
from bot import handoff
from bot.compliance import catalogue


def run(action, dispatcher, tracker):
    return asyncio.run(action.run(dispatcher, tracker, {}))


def test_sense_sets_language_and_emotion_slots(dispatcher, tracker_factory):
    events = run(ActionSenseMessage(), dispatcher, tracker_factory("我被骗了，钱全没了，怎么办啊",
                                                                   slots={"language": "en"}))
    slots = {e["name"]: e["value"] for e in events}
    assert slots["language"] == "zh" and slots["emotion"] == "distressed"
    assert slots["care_mode"] == "support" and slots["distress_turns"] == 1.0
    assert slots["emotion_trend"] == ["distressed"] and 0.0 <= slots["anxiety"] <= 1.0


def test_only_changed_slots_are_set(dispatcher, tracker_factory):
    first = {e["name"]: e["value"] for e in run(ActionSenseMessage(), dispatcher, tracker_factory("查一下余额"))}
    again = run(ActionSenseMessage(), dispatcher, tracker_factory("查一下余额", slots=first))
    assert first["emotion"] == "calm" and [e["name"] for e in again] == ["emotion_trend"]


def test_second_distressed_message_asks_for_a_handoff(dispatcher, tracker_factory):
    tracker = tracker_factory("I've lost everything, please help me",
                              slots={"emotion": "distressed", "distress_turns": 1.0, "emotion_trend": ["distressed"]})
    slots = {e["name"]: e["value"] for e in run(ActionSenseMessage(), dispatcher, tracker)}
    assert slots["care_mode"] == "handoff" and slots["emotion_trend"] == ["distressed", "distressed"]


def test_missing_emotion_model_keeps_the_conversation_going(dispatcher, tracker_factory, monkeypatch):
    from bot.emotion import classifier

    monkeypatch.setenv("ANXIN_EMOTION_MODEL", "/nonexistent/head.pkl")
    monkeypatch.setattr(classifier, "_shared", None)
    events = run(ActionSenseMessage(), dispatcher, tracker_factory("hello"))
    assert [e["name"] for e in events] == ["language"]


@pytest.mark.parametrize("language, emotion, care_mode, opener", [
    ("zh", "anxious", "support", ["utter_calm_empathy"]),  # the model is sure: calm words first
    ("zh", "anxious", None, []),                          # unsure: no product, but no "I can hear you're worried"
    ("zh", "angry", "support", ["utter_apology"]),
    ("en", "calm", None, [])])
def test_market_worry_gets_facts_own_choice_and_a_person_never_products(dispatcher, tracker_factory,
                                                                       language, emotion, care_mode, opener):
    run(ActionMarketFacts(), dispatcher, tracker_factory(
        "基金跌了好多怎么办", slots={"language": language, "emotion": emotion, "care_mode": care_mode}))
    responses = [m["response"] for m in dispatcher.messages]
    assert responses == opener + ["utter_kb_answer", "utter_market_own_choice", "utter_offer_person"]
    shown = " ".join(str(v) for m in dispatcher.messages for v in m.values())
    assert not any(name in shown for p in catalogue.products() for name in p.name.values())


def test_handoff_leaves_a_summary_and_resets_the_count(dispatcher, tracker_factory):
    events = [
        {"event": "user", "text": "我的卡号6222021234567890123被盗刷了",
         "parse_data": {"intent": {"name": "card_lost"}}},
        {"event": "bot", "text": "请立即挂失"},
        {"event": "user", "text": "钱全没了", "parse_data": {"intent": {"name": "nlu_fallback"}}},
    ]
    tracker = tracker_factory("钱全没了", sender="ho-1", events=events, intent="nlu_fallback",
                              slots={"care_mode": "handoff", "emotion": "distressed", "distress_turns": 2.0,
                                     "emotion_trend": ["distressed", "distressed"]})
    reset = run(ActionHandoffWithSummary(), dispatcher, tracker)
    assert dispatcher.messages[0]["response"] == "utter_handoff"
    assert {e["name"]: e["value"] for e in reset} == {"distress_turns": 0.0, "care_mode": None}
    [stored] = handoff.recent("ho-1")
    assert stored.reason == "emotion"
    assert stored.summary["intents"] == ["card_lost", "nlu_fallback"]
    assert stored.summary["emotion_trend"] == ["distressed", "distressed"]
    assert stored.summary["answered"] == ["请立即挂失"]
    assert "6222021234567890123" not in str(stored.summary)  # card numbers masked


def test_complaint_handoff_says_why(dispatcher, tracker_factory):
    run(ActionHandoffWithSummary(), dispatcher, tracker_factory("我要投诉", sender="ho-2", intent="complaint"))
    assert handoff.recent("ho-2")[0].reason == "complaint"


def test_action_calls_carry_at_least_the_turns_a_handoff_summary_reads(monkeypatch):
    """The Rasa server sends an action the latest ANXIN_ACTION_TURNS turns (bot/rasa_ext/speed.py);
    a hand-off's summary reads the last RECENT intents, one per turn: the default must cover them."""
    from bot import handoff, settings

    monkeypatch.delenv("ANXIN_ACTION_TURNS", raising=False)
    assert settings.action_turns_sent() >= handoff.RECENT
