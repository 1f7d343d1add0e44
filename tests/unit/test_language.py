import pytest

from bot.language import detect_language


@pytest.mark.parametrize("text, expected", [
    ("查余额", "zh"),
    ("check my balance", "en"),
    ("我的credit card丢了", "zh"),          # any Chinese makes it Chinese
    ("send 500 to 张三", "zh"),
    ("ok", "en"),
])
def test_detects_the_language_written(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["😀😀", "12345", "???", "", None, "/affirm", "/empty_message"])
def test_messages_without_words_keep_the_previous_language(text):
    assert detect_language(text, previous="en") == "en"
    assert detect_language(text, previous="zh") == "zh"
    assert detect_language(text) == "zh"  # Chinese first when nothing is known


def test_traditional_characters_are_read_as_simplified_ones():
    from bot.language import to_simplified

    assert to_simplified("我要轉帳") == "我要转账"
    assert to_simplified("轉給張三") == "转给张三"
    assert to_simplified("我的餘額是多少") == "我的余额是多少"
    assert to_simplified("Alice Wang") == "Alice Wang" and to_simplified("/affirm") == "/affirm"
