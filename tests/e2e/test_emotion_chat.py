"""Emotion sensing changes what the bot does, through both running servers."""

from bot import handoff
from bot.compliance import audit, catalogue
from tests.e2e.conftest import said

PRODUCT_NAMES = [name for p in catalogue.products() for name in p.name.values()]


def test_anxious_product_question_gets_calm_words_no_products_and_a_person(chat_as):
    texts = chat_as("demo-c5").texts("我好担心，有没有适合我的理财")
    assert said(texts, "utter_no_selling_when_emotional", "zh")  # calm words and the offer of a person
    assert not any(name in text for text in texts for name in PRODUCT_NAMES)
    assert not said(texts, "utter_risk_warning", "zh")


def test_calm_product_question_from_the_same_level_still_gets_products(chat_as):
    texts = chat_as("demo-c5").texts("有什么债券基金")
    assert said(texts, "utter_risk_warning", "zh") and not said(texts, "utter_calm_empathy", "zh")


def test_market_panic_gets_facts_and_own_choice_in_both_languages(chat):
    texts = chat.texts("基金跌了好多怎么办")
    assert said(texts, "utter_market_own_choice", "zh") and said(texts, "utter_offer_person", "zh")
    assert not any(name in text for text in texts for name in PRODUCT_NAMES)
    texts = chat.texts("should I sell everything")
    assert said(texts, "utter_market_own_choice", "en")


def test_two_distressed_messages_hand_off_with_a_summary(chat):
    first = chat.texts("我被骗了，钱全没了")
    assert said(first, "utter_calm_empathy", "zh") and not said(first, "utter_handoff", "zh")
    second = chat.texts("我真的崩溃了，一辈子的积蓄啊")
    assert said(second, "utter_handoff", "zh")
    [summary] = handoff.recent(chat.sender)
    assert summary.reason == "emotion"
    assert summary.summary["emotion_trend"][-2:] == ["distressed", "distressed"]
    assert len(summary.summary["intents"]) == 2 and summary.summary["answered"]
    assert [e.kind for e in audit.history(chat.sender)] == ["handoff"]
    assert audit.history(chat.sender)[0].emotion == "distressed"


def test_explicit_complaint_hands_off_at_once(chat):
    texts = chat.texts("I want to make a complaint about your charges")
    assert said(texts, "utter_complaint", "en") and said(texts, "utter_handoff", "en")
    assert handoff.recent(chat.sender)[0].reason == "complaint"


def test_calm_conversation_is_unaffected(chat):
    texts = chat.texts("转账多久到账")
    assert not said(texts, "utter_calm_empathy", "zh") and not said(texts, "utter_offer_person", "zh")
