import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from actions.products import ActionSuggestProducts
from bot.compliance import audit, catalogue, risk_profile, rulebook
from tests.actions.conftest import records_asked


def suggest(dispatcher, tracker):
    asyncio.run(ActionSuggestProducts().run(dispatcher, tracker, {}))
    return [m["response"] for m in dispatcher.messages]


def test_no_assessment_offers_the_questionnaire_and_names_nothing(dispatcher, tracker_factory):
    assert suggest(dispatcher, tracker_factory("有什么理财产品", sender="new-1")) == ["utter_need_risk_assessment"]
    assert records_asked(dispatcher) == [] and audit.history("new-1") == []


def test_expired_assessment_asks_for_a_new_one(dispatcher, tracker_factory):
    risk_profile.save("old-1", "C4", assessed_at=datetime.now(timezone.utc) - timedelta(days=400))
    assert suggest(dispatcher, tracker_factory("推荐基金", sender="old-1")) == ["utter_risk_assessment_expired"]


@pytest.mark.parametrize("emotion", ["anxious", "angry", "distressed"])
def test_emotional_customers_get_no_products(dispatcher, tracker_factory, emotion):
    tracker = tracker_factory("推荐基金", sender="demo-c5", slots={"emotion": emotion})
    assert suggest(dispatcher, tracker) == ["utter_no_selling_when_emotional"]


@pytest.mark.parametrize("level", ["C1", "C2", "C3", "C4", "C5"])
def test_warning_comes_first_and_only_suitable_products_follow(dispatcher, tracker_factory, level):
    customer = f"lvl-{level}"
    risk_profile.save(customer, level)
    responses = suggest(dispatcher, tracker_factory("有什么理财产品推荐", sender=customer))
    assert responses[0] == "utter_risk_warning"
    assert dispatcher.messages[0]["warning"] == rulebook.current().mandatory_warning["zh"]
    lines = [m for m in dispatcher.messages if m["response"] == "utter_product_line"]
    assert lines, "a valid assessment gets suggestions"
    for line in lines:
        assert int(line["risk"][1]) <= int(level[1]) and line["level"] == level
    assert responses[-1] == "utter_presale_notice"
    asked = records_asked(dispatcher)
    assert [(response, r["kind"]) for response, r in asked] == [("utter_risk_warning", "warning"),
                                                               ("utter_presale_notice", "suggestion")]
    suggestion = asked[1][1]
    assert suggestion["customer_id"] == customer and suggestion["c_level"] == level
    assert {p["id"] for p in suggestion["products"]} == {
        p.id for p in catalogue.products() if p.name["zh"] in {line["name"] for line in lines}}
    assert audit.history(customer) == []  # nothing is on record before the Rasa server has shown it


def test_english_customer_gets_the_english_warning(dispatcher, tracker_factory):
    suggest(dispatcher, tracker_factory("any bond funds?", sender="demo-c3", slots={"language": "en"}))
    assert dispatcher.messages[0]["warning"] == rulebook.current().mandatory_warning["en"]
    assert {m["name"] for m in dispatcher.messages if m["response"] == "utter_product_line"} == {
        "Anxin Pure Bond Fund", "Anxin Short-Term Bond Fund"}


def test_insisting_above_the_level_gets_a_mismatch_and_a_person(dispatcher, tracker_factory):
    responses = suggest(dispatcher, tracker_factory("我就要买安心成长股票基金", sender="demo-c2"))
    assert responses == ["utter_risk_warning", "utter_product_mismatch", "utter_handoff"]
    assert "utter_product_line" not in responses
    assert [(response, r["kind"], r["detail"]) for response, r in records_asked(dispatcher)] == [
        ("utter_risk_warning", "warning", None), ("utter_product_mismatch", "mismatch", "mismatch")]


def test_c1_is_never_offered_above_r1_even_on_request(dispatcher, tracker_factory):
    responses = suggest(dispatcher, tracker_factory("我想买债券基金", sender="demo-c1"))
    assert responses == ["utter_risk_warning", "utter_product_mismatch_c1"]


def test_private_products_mention_the_cooling_off_period(dispatcher, tracker_factory):
    responses = suggest(dispatcher, tracker_factory("有没有私募产品", sender="demo-c5"))
    assert responses.count("utter_cooling_off") == 2 and responses[0] == "utter_risk_warning"


def test_senior_customers_get_the_extra_care_wording(dispatcher, tracker_factory):
    responses = suggest(dispatcher, tracker_factory("推荐点理财", sender="demo-senior"))
    assert "utter_senior_care" in responses
