"""Questions inside forms, changes of mind at the confirmation, and product facts for anyone."""

import asyncio
import uuid
from unittest import mock

from actions import knowledge
from actions.accounts import ActionAskTransferConfirmation, ValidateTransferForm
from actions.digressions import ActionAnswerDigression
from actions.product_facts import ActionProductFacts
from actions.risk import ValidateRiskAssessmentForm
from bot.compliance import catalogue, rulebook
from tests.actions.conftest import records_asked


def run(coro):
    return asyncio.run(coro)


def responses(dispatcher):
    return [m["response"] for m in dispatcher.messages]


def test_a_question_is_never_taken_as_the_payee(dispatcher, tracker_factory):
    text = "wait, is there a fee for interbank transfers?"
    tracker = tracker_factory(text, slots={"requested_slot": "payee", "language": "en"}, intent="inform")
    with mock.patch.object(knowledge, "answer_from_knowledge") as answered:
        result = run(ValidateTransferForm().validate_payee(text, dispatcher, tracker, {}))
    assert result == {"payee": None}
    answered.assert_called_once()
    assert "utter_unknown_payee" not in responses(dispatcher)  # answered, not "no payee called ..."


def test_a_question_is_never_taken_as_the_amount(dispatcher, tracker_factory):
    tracker = tracker_factory("转500要手续费吗", slots={"requested_slot": "amount"}, intent="inform")
    with mock.patch.object(knowledge, "answer_from_knowledge"):
        result = run(ValidateTransferForm().validate_amount("500", dispatcher, tracker, {}))
    assert result == {"amount": None}


def test_a_request_phrased_as_a_question_starts_the_transfer_with_its_values(dispatcher, tracker_factory):
    tracker = tracker_factory("能帮我给张三转500吗", intent="transfer_money")  # nothing asked yet
    assert run(ValidateTransferForm().validate_amount("500", dispatcher, tracker, {})) == {"amount": "500.00"}


def test_a_question_is_no_answer_to_the_risk_questionnaire(dispatcher, tracker_factory):
    tracker = tracker_factory("R3是什么意思？", slots={"requested_slot": "ra_age_band"}, intent="inform")
    with mock.patch.object(knowledge, "answer_from_knowledge") as answered:
        result = run(ValidateRiskAssessmentForm().validate_ra_age_band("R3是什么意思？", dispatcher, tracker, {}))
    assert result == {"ra_age_band": None} and answered.called


def test_a_plain_answer_is_still_taken(dispatcher, tracker_factory):
    tracker = tracker_factory("张三", slots={"requested_slot": "payee"}, intent="inform")
    assert run(ValidateTransferForm().validate_payee("张三", dispatcher, tracker, {})) == {"payee": "张三"}


def test_a_fee_question_in_the_form_gets_the_fees(dispatcher, tracker_factory):
    tracker = tracker_factory("跨行转账要手续费吗", intent="fees_and_limits")
    run(ActionAnswerDigression().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_fees_and_limits"]


def test_the_balance_asked_in_the_form_is_shown(dispatcher, tracker_factory):
    run(ActionAnswerDigression().run(dispatcher, tracker_factory("还有多少钱", intent="check_balance"), {}))
    assert responses(dispatcher) == ["utter_balance"]


def test_an_angry_customer_in_the_form_is_apologised_to_not_soothed(dispatcher, tracker_factory):
    tracker = tracker_factory("手续费怎么这么贵！！", intent="fees_and_limits",
                              slots={"care_mode": "support", "emotion": "angry"})
    run(ActionAnswerDigression().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_apology", "utter_fees_and_limits"]


def parked(amount="500.00", payee="张三"):
    return {"payee": payee, "amount": amount, "key": uuid.uuid4().hex}


def test_make_it_300_instead_asks_again_with_the_new_amount_and_a_new_key(dispatcher, tracker_factory):
    earlier = parked()
    tracker = tracker_factory("make it 300 instead", intent="inform",
                              slots={"amount": "300", "pending_transfer": earlier, "language": "en"})
    events = run(ActionAskTransferConfirmation().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_confirm_transfer"]
    assert dispatcher.messages[0]["payee"] == "张三" and dispatcher.messages[0]["amount"] == "300.00"
    new = next(e["value"] for e in events if e["name"] == "pending_transfer")
    assert new["amount"] == "300.00" and new["payee"] == "张三" and new["key"] != earlier["key"]


def test_a_new_payee_at_the_confirmation_keeps_the_amount(dispatcher, tracker_factory):
    tracker = tracker_factory("改为转给李四", intent="inform", slots={"payee": "李四", "pending_transfer": parked()})
    run(ActionAskTransferConfirmation().run(dispatcher, tracker, {}))
    assert dispatcher.messages[-1]["payee"] == "李四" and dispatcher.messages[-1]["amount"] == "500.00"


def test_a_new_amount_the_account_cannot_pay_is_asked_again_and_nothing_is_confirmable(dispatcher, tracker_factory):
    """Not the earlier confirmation again (issue 25): a customer who wanted another amount and
    says "yes" to what comes back must not send the old one."""
    tracker = tracker_factory("改成一百万", intent="inform", slots={"amount": "1000000", "pending_transfer": parked()})
    events = run(ActionAskTransferConfirmation().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_insufficient_funds"]  # it says: a smaller amount, or cancel
    parked_now = next(e["value"] for e in events if e["name"] == "pending_transfer")
    assert parked_now == {"payee": "张三", "amount": "500.00", "changing": "amount"}  # no key: "yes" moves nothing


def test_an_unknown_new_payee_is_said_and_asked_never_the_old_one_confirmed(dispatcher, tracker_factory):
    tracker = tracker_factory("actually send it to Alicia", intent="inform",
                              slots={"payee": "Alicia", "pending_transfer": parked(), "language": "en"})
    events = run(ActionAskTransferConfirmation().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_unknown_payee"]
    assert "key" not in next(e["value"] for e in events if e["name"] == "pending_transfer")


def test_two_amounts_the_replacement_is_confirmed(dispatcher, tracker_factory):
    tracker = tracker_factory("sorry, 300 rather than 500", intent="inform",
                              slots={"amount": ["300", "500"], "pending_transfer": parked(), "language": "en"})
    run(ActionAskTransferConfirmation().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_confirm_transfer"] and dispatcher.messages[-1]["amount"] == "300.00"


def test_a_question_at_the_confirmation_asks_the_same_one_again_with_its_key(dispatcher, tracker_factory):
    earlier = parked()
    tracker = tracker_factory("一天最多能转多少", intent="fees_and_limits", slots={"pending_transfer": earlier})
    events = run(ActionAskTransferConfirmation().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_confirm_transfer"]
    assert next(e["value"] for e in events if e["name"] == "pending_transfer") == earlier


def test_the_daily_limit_question_gets_the_configured_figures(dispatcher, tracker_factory, monkeypatch):
    monkeypatch.setenv("ANXIN_DAILY_TRANSFER_LIMIT", "20000")
    tracker = tracker_factory("每天最多能转多少钱", intent="fees_and_limits")
    run(ActionAnswerDigression().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_transfer_limits"]
    assert dispatcher.messages[0]["limit"] == "20,000.00" and dispatcher.messages[0]["threshold"] == "5,000.00"


def test_product_facts_come_after_the_warning_and_say_they_are_no_recommendation(dispatcher, tracker_factory):
    tracker = tracker_factory("安心现金宝货币基金赎回几天到账", sender="facts-new", intent="product_facts")
    run(ActionProductFacts().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_facts_warning", "utter_product_facts", "utter_fact_no_cooling_off",
                                     "utter_facts_not_advice"]
    assert dispatcher.messages[0]["warning"] == rulebook.current().mandatory_warning["zh"]
    assert dispatcher.messages[1]["risk"] == "R1" and "T+1" in dispatcher.messages[1]["liquidity"]
    assert [(response, r["kind"], r["detail"], r["customer_id"]) for response, r in records_asked(dispatcher)] == [
        ("utter_facts_warning", "warning", "facts", "facts-new")]


def test_facts_need_no_assessment_but_a_private_product_names_its_cooling_off(dispatcher, tracker_factory):
    private = next(p for p in catalogue.products() if p.is_private)
    tracker = tracker_factory(f"{private.name['en']} minimum?", intent="product_facts", slots={"language": "en"})
    run(ActionProductFacts().run(dispatcher, tracker, {}))
    assert "utter_fact_cooling_off" in responses(dispatcher)
    assert "utter_need_risk_assessment" not in responses(dispatcher)


def test_a_generic_fact_question_is_answered_from_the_knowledge_base(dispatcher, tracker_factory):
    tracker = tracker_factory("理财产品保本吗", intent="product_facts")
    with mock.patch("actions.product_facts.answer_from_knowledge") as answered:
        run(ActionProductFacts().run(dispatcher, tracker, {}))
    answered.assert_called_once()
    assert responses(dispatcher) == ["utter_facts_warning", "utter_facts_not_advice"]


def test_a_request_to_buy_is_never_answered_as_facts(dispatcher, tracker_factory):
    """However the NLU read it: no assessment on file -> the questionnaire, no fact sheet."""
    tracker = tracker_factory("安心纯债债券基金能买吗", sender="facts-buyer", intent="product_facts")
    run(ActionProductFacts().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_need_risk_assessment"]


def test_an_emoji_for_the_payee_is_not_echoed_back_as_a_name(dispatcher, tracker_factory):
    tracker = tracker_factory("👍", slots={"requested_slot": "payee"}, intent="nlu_fallback")
    assert run(ValidateTransferForm().validate_payee("/nlu_fallback", dispatcher, tracker, {})) == {"payee": None}
    assert dispatcher.messages == []  # the form asks for the payee again
