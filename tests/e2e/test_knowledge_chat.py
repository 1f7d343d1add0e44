"""FAQ questions answered from the FAISS knowledge base through both running servers."""

from bot.knowledge.sources import passage as _passage
from tests.e2e.conftest import said


def test_chinese_faq_is_answered_with_the_reviewed_passage_and_its_source(chat):
    # Whether the emotion head reads this message as worry is a borderline call that differs
    # between machines (it once put a calming sentence first): the test asserts the quoted
    # passage and its source wherever they come in the reply, not their position.
    texts = chat.texts("有人说是公安局的，让我把存款转到安全账户")
    source = _passage("fraud-police-impersonation:zh")
    assert said(texts, "utter_kb_answer", "zh")
    assert any(source.text in text and f"《{source.title}》" in text for text in texts)


def test_english_faq_is_answered_in_english(chat):
    # The emotion head may read a missed payment as worry and put a calming sentence first;
    # either way the reviewed English passage is quoted.
    texts = chat.texts("what happens if I miss a loan payment")
    source = _passage("loans-overdue:en")
    assert said(texts, "utter_kb_answer", "en") and any(source.text in text for text in texts)


def test_product_question_without_assessment_names_no_product(chat_as):
    texts = chat_as("kb-e2e-new").texts("沪深300指数基金是什么风险等级，起投多少")
    assert said(texts, "utter_need_risk_assessment", "zh")
    assert not any("安心沪深300指数基金" in text for text in texts)
