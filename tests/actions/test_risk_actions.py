import asyncio

from actions.risk import QUESTION_SLOTS, ActionCompleteRiskAssessment, ActionShowRiskProfile, ValidateRiskAssessmentForm
from bot.compliance import audit, risk_profile


def run(coro):
    return asyncio.run(coro)


def test_one_ask_action_per_question_with_numbered_buttons(dispatcher, tracker_factory):
    from actions import risk
    for slot in QUESTION_SLOTS:
        action = getattr(risk, f"ActionAsk_{slot}")()
        assert action.name() == f"action_ask_{slot}"
    action = risk.ActionAsk_ra_horizon()
    run(action.run(dispatcher, tracker_factory(slots={"language": "en"}), {}))
    [message] = dispatcher.messages
    assert message["text"].startswith("Question 2/6")
    assert [b["payload"] for b in message["buttons"]][:2] == ['/choose_option{"option": "1"}',
                                                             '/choose_option{"option": "2"}']


def test_invalid_answers_are_asked_again(dispatcher, tracker_factory):
    form = ValidateRiskAssessmentForm()
    result = run(form.validate_ra_goal("随便", dispatcher, tracker_factory("随便"), {}))
    assert result == {"ra_goal": None}
    assert dispatcher.messages[0]["response"] == "utter_invalid_option" and dispatcher.messages[0]["count"] == 4


def test_answers_by_number_letter_or_label_are_normalised(dispatcher, tracker_factory):
    form = ValidateRiskAssessmentForm()
    assert run(form.validate_ra_horizon("C", dispatcher, tracker_factory(), {})) == {"ra_horizon": "3"}
    assert run(form.validate_ra_horizon("5 年以上", dispatcher, tracker_factory(), {})) == {"ra_horizon": "4"}
    assert dispatcher.messages == []


def test_completing_stores_the_level_with_the_date_and_audits_it(dispatcher, tracker_factory):
    slots = dict(zip(QUESTION_SLOTS, ["2", "3", "3", "3", "3", "3"], strict=True))  # 4+3+3+3+3+3 = 19 -> C4
    events = run(ActionCompleteRiskAssessment().run(dispatcher, tracker_factory(sender="ra-1", slots=slots), {}))
    [message] = dispatcher.messages
    assert (message["response"], message["level"]) == ("utter_risk_result", "C4")
    profile = risk_profile.current("ra-1")
    assert profile.level == "C4" and profile.is_valid() and message["date"] == profile.date
    assert [e.kind for e in audit.history("ra-1")] == ["assessment"]
    assert all(e["value"] is None for e in events)


def test_show_profile_covers_none_valid_and_expired(dispatcher, tracker_factory):
    for sender, expected in (("nobody", "utter_no_risk_profile"), ("demo-c3", "utter_show_risk_profile"),
                             ("demo-expired", "utter_show_risk_profile_expired")):
        dispatcher.messages.clear()
        run(ActionShowRiskProfile().run(dispatcher, tracker_factory(sender=sender), {}))
        assert dispatcher.messages[0]["response"] == expected
