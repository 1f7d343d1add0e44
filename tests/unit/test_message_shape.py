import pytest

from bot.dialogue.message_shape import is_question, too_short


@pytest.mark.parametrize("text", ["a", "A", "7", "500", "👍", "🙂🙂", "???", "。", " x "])
def test_too_short_to_understand(text):
    assert too_short(text)


@pytest.mark.parametrize("text", ["y", "n", "ok", "好", "是", "不", "算了", "hi", "张三", "Bob Li", "转账", "",
                                  "/affirm"])
def test_short_but_meaningful_or_handled_elsewhere(text):
    assert not too_short(text)


@pytest.mark.parametrize("text", ["wait, is there a fee for interbank transfers?", "跨行转账收手续费吗",
                                  "R3是什么意思", "what does R3 mean", "how much do I have", "能不能明天再转",
                                  "余额是多少", "sorry, can you tell me the limit"])
def test_plain_questions(text):
    assert is_question(text)


@pytest.mark.parametrize("text", ["张三", "Alice Wang", "500", "五百块", "转多少都行就500", "make it 300 instead",
                                  "2", "B", "/choose_option", "Will Smith", "May Li"])
def test_not_questions(text):
    assert not is_question(text)

