import asyncio

from actions.knowledge import ActionAnswerKnowledge
from bot.compliance import audit, risk_profile, rulebook
from bot.knowledge.sources import passage
from tests.actions.conftest import records_asked


def answer(dispatcher, tracker):
    asyncio.run(ActionAnswerKnowledge().run(dispatcher, tracker, {}))
    return [m["response"] for m in dispatcher.messages]


def test_faq_question_is_answered_with_the_passage_and_its_title(dispatcher, tracker_factory):
    responses = answer(dispatcher, tracker_factory("有人自称公安让我把钱转到安全账户", intent="ask_faq"))
    assert responses[0] == "utter_kb_answer"
    first = dispatcher.messages[0]
    source = passage("fraud-police-impersonation:zh")
    assert (first["title"], first["passage"]) == (source.title, source.text)


def test_english_question_gets_the_english_passage(dispatcher, tracker_factory):
    answer(dispatcher, tracker_factory("what does risk level R5 mean", slots={"language": "en"}))
    assert dispatcher.messages[0]["passage"].startswith("Wealth products and funds sold by banks")


def test_unanswerable_question_gets_no_answer_and_the_offer_of_a_person(dispatcher, tracker_factory):
    assert answer(dispatcher, tracker_factory("推荐一家附近好吃的火锅店")) == ["utter_kb_no_answer"]


def test_product_sheet_without_assessment_names_no_product(dispatcher, tracker_factory):
    assert answer(dispatcher, tracker_factory("沪深300指数基金起投多少", sender="kb-new")) == [
        "utter_need_risk_assessment"]
    assert records_asked(dispatcher) == [] and audit.history("kb-new") == []


def test_product_sheet_goes_through_the_gate_warning_first(dispatcher, tracker_factory):
    risk_profile.save("kb-c5", "C5")
    responses = answer(dispatcher, tracker_factory("沪深300指数基金起投多少", sender="kb-c5"))
    assert responses[0] == "utter_risk_warning"
    assert dispatcher.messages[0]["warning"] == rulebook.current().mandatory_warning["zh"]
    assert [m["name"] for m in dispatcher.messages if m["response"] == "utter_product_line"] == ["安心沪深300指数基金"]
    assert responses[-1] == "utter_kb_source"
    assert [r["kind"] for _, r in records_asked(dispatcher)] == ["warning", "suggestion"]


def test_product_sheet_above_the_level_is_a_mismatch_not_a_quote(dispatcher, tracker_factory):
    risk_profile.save("kb-c2", "C2")
    responses = answer(dispatcher, tracker_factory("沪深300指数基金起投多少", sender="kb-c2"))
    assert responses == ["utter_risk_warning", "utter_product_mismatch", "utter_handoff"]


def test_missing_index_means_no_answer_not_a_crash(dispatcher, tracker_factory, monkeypatch, tmp_path):
    from bot.knowledge import retriever

    monkeypatch.setenv("ANXIN_KB_DIR", str(tmp_path / "nothing"))
    monkeypatch.setattr(retriever, "_shared", None)
    assert answer(dispatcher, tracker_factory("转账限额是多少")) == ["utter_kb_no_answer"]
