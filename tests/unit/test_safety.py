"""Crisis and fraud-in-progress signals: said outright, near misses, the model's share."""

import pytest

from bot.safety.detect import CRISIS, FRAUD, detect, hotline


@pytest.mark.parametrize("text", ["我不想活了", "钱没了，我想一了百了", "I'm going to kill myself",
                                  "I don't want to live anymore", "我已經寫好遺書了".replace("遺書", "遗书")])
def test_crisis_said_outright(text):
    assert detect(text) == CRISIS


@pytest.mark.parametrize("text", ["这个手续费真是气死我了", "this fee is killing me", "I'm dying to know my balance",
                                  "我的死期存款什么时候到期", "Suicide Squad was on TV, what's my balance",
                                  "please kill the transfer I just started", "请帮我查余额", "/request_human"])
def test_near_misses_are_not_a_crisis(text):
    assert detect(text, model_says_crisis=False) is None


def test_the_models_crisis_head_is_enough_on_its_own():
    assert detect("我把密码写在本子上了，以后孩子们用得着", model_says_crisis=True) == CRISIS
    assert detect("/request_human", model_says_crisis=True) is None  # a button carries no feeling


@pytest.mark.parametrize("text", ["有人说是公安局的，让我把存款转到安全账户", "对方让我下载向日葵开屏幕共享",
                                  "the caller is asking me for the code from my SMS",
                                  "a guy from the bank wants me to install AnyDesk", "我把验证码告诉客服了"])
def test_fraud_in_progress(text):
    assert detect(text) == FRAUD


@pytest.mark.parametrize("text", ["什么是安全账户诈骗", "how do I spot a phishing text"])
def test_questions_about_fraud_are_not_a_fraud_in_progress(text):
    assert detect(text) is None


def test_a_crisis_outranks_a_fraud():
    assert detect("被骗到安全账户，钱全没了，我不想活了") == CRISIS


def test_the_hotline_comes_from_the_data_file():
    assert "400-161-9995" in hotline("zh") and "400-161-9995" in hotline("en")


def _messages(path):
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [m for by_language in data.values() for messages in by_language.values() for m in messages]


def test_crisis_training_tuning_and_benchmark_sets_stay_apart():
    from pathlib import Path

    from tests.near_copies import near_copies

    root = Path(__file__).resolve().parents[2]
    bench = _messages(root / "bench" / "data" / "crisis_eval.yml")
    train = _messages(root / "data" / "emotion" / "crisis_train.yml") + _messages(
        root / "data" / "emotion" / "crisis_dev.yml")
    tune = _messages(root / "data" / "emotion" / "crisis_tune.yml")
    assert near_copies(train, bench) == []
    assert near_copies(tune, bench) == []
    assert near_copies(tune, train) == []


def test_fraud_said_in_traditional_characters():
    assert detect("客服說我的帳戶有風險，要我把錢轉到安全帳戶") == FRAUD
