import pytest

from bot.emotion import care, classifier
from bot.emotion.classifier import Emotion, cue_features


@pytest.fixture(scope="module")
def model():
    return classifier.EmotionClassifier()  # the head `make` trained


def test_cues_are_counted_per_class_and_punctuation_is_seen():
    anxious, angry, distressed, exclamations, questions = cue_features(["我好担心，怎么办！！"])[0]
    assert anxious >= 2 and angry == 0 and distressed == 0 and exclamations == 1 and questions == 0
    assert list(cue_features(["I lost everything"])[0][:3]) == [0, 0, 1]


@pytest.mark.parametrize("text, label", [
    ("查一下我的余额", "calm"), ("what's my balance", "calm"),
    ("基金跌了好多，我好慌，怎么办", "anxious"), ("I'm so worried about my fund, it keeps falling", "anxious"),
    ("我要投诉，你们服务太差了", "angry"), ("this is ridiculous, your app is useless", "angry"),
    ("我被骗了，一辈子的积蓄全没了", "distressed"), ("I've lost everything, my life savings are gone", "distressed"),
])
def test_clear_messages_get_their_label_in_both_languages(model, text, label):
    assert model.classify(text).label == label


def test_anxiety_is_a_probability_and_high_for_panic(model):
    calm, panic = model.classify("请问网点几点开门"), model.classify("我好害怕，钱会不会全亏光，睡不着")
    assert 0.0 <= calm.anxiety < 0.3 < 0.7 < panic.anxiety <= 1.0
    assert abs(sum(panic.scores.values()) - 1.0) < 1e-6


@pytest.mark.parametrize("text", ["", "   ", "担心" * 20000, "\x00\x01\ufffd" * 100, "🙂🙂🙂"])
def test_empty_huge_and_binary_input_still_get_a_label(model, text):
    assert model.classify(text).label in classifier.LABELS


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="bot.emotion.train"):
        classifier.EmotionClassifier(tmp_path / "head.pkl")


class _Scripted:
    """Stands in for the classifier: returns the labels it is given, in order, each with the
    probability it is given (1.0 unless told: the model is sure)."""

    empathy_at = 0.75

    def __init__(self, labels, probabilities=None):
        self.labels = list(labels)
        self.probabilities = list(probabilities or [1.0] * len(self.labels))

    def classify(self, text):
        label, p = self.labels.pop(0), self.probabilities.pop(0)
        scores = {"calm": 1.0 - p, label: p} if label != "calm" else {"calm": p}
        return Emotion(label, 0.9 if label == "anxious" else 0.1, scores)

    def opener_due(self, emotion):
        return classifier.opener_due(emotion.scores, self.empathy_at)

    def in_crisis(self, emotion):
        return False


def _run(monkeypatch, labels, texts=None):
    scripted = _Scripted(labels)
    monkeypatch.setattr(classifier, "shared", lambda: scripted)
    state, states = care.CareState(), []
    for text in texts or ["message"] * len(labels):
        state = care.next_state(state, text)
        states.append(state)
    return states


def test_two_distressed_or_angry_messages_in_a_row_mean_a_person(monkeypatch):
    states = _run(monkeypatch, ["angry", "distressed"])
    assert [s.care_mode for s in states] == ["support", "handoff"]
    assert states[-1].trend == ("angry", "distressed")


def test_a_calm_message_in_between_resets_the_count(monkeypatch):
    states = _run(monkeypatch, ["distressed", "calm", "angry"])
    assert [s.care_mode for s in states] == ["support", None, "support"]
    assert [s.distress_turns for s in states] == [1, 0, 1]


def test_anxious_means_support_not_handoff(monkeypatch):
    assert [s.care_mode for s in _run(monkeypatch, ["anxious"] * 4)] == ["support"] * 4


def test_an_unsure_anxious_reading_holds_back_selling_but_says_nothing_empathetic(monkeypatch):
    """Two decisions: the label (read by the suitability gate) is anxious at a low threshold;
    the opener (care_mode "support") needs the model to be sure."""
    scripted = _Scripted(["anxious", "anxious"], [0.4, 0.9])
    monkeypatch.setattr(classifier, "shared", lambda: scripted)
    unsure = care.next_state(care.CareState(), "有什么理财产品推荐")
    sure = care.next_state(unsure, "我好害怕钱亏光了")
    assert unsure.emotion == "anxious" and unsure.care_mode is None
    assert sure.emotion == "anxious" and sure.care_mode == "support"


def test_messages_too_short_to_understand_carry_no_feeling(monkeypatch):
    monkeypatch.setattr(classifier, "shared", lambda: _Scripted([]))  # never asked
    before = care.CareState("anxious", 0.8, 0, ("anxious",), "support")
    after = care.next_state(before, "a")
    assert after.care_mode is None and after.emotion == "anxious" and after.trend == ("anxious",)


def test_button_clicks_carry_no_feeling(monkeypatch):
    states = _run(monkeypatch, ["distressed"], texts=["我被骗了", "/request_human", ""])
    assert states[1].care_mode is None and states[1].emotion == "distressed" and states[1].distress_turns == 1
    assert states[2].trend == ("distressed",)


def test_trend_keeps_the_last_ten(monkeypatch):
    assert len(_run(monkeypatch, ["calm"] * 15)[-1].trend) == care.TREND_LENGTH


def test_training_development_and_evaluation_messages_are_no_near_copies_of_each_other():
    """The bench's labelled set is written separately, and so is the development set that picks
    the head's settings; a message that is another set's message reworded by a character or two
    would inflate the reported recall."""
    from bot.emotion.train import DEV_FILE, TRAIN_FILE, labelled
    from bot.settings import PROJECT_ROOT
    from tests.near_copies import near_copies

    evaluation = labelled(PROJECT_ROOT / "bench" / "data" / "emotion_eval.yml")[0]
    training, development = labelled(TRAIN_FILE)[0], labelled(DEV_FILE)[0]
    assert len(evaluation) >= 300 and len(development) >= 100
    assert near_copies(training, evaluation) == []
    assert near_copies(development, evaluation) == []
    assert near_copies(development, training) == []


def test_calm_gives_way_to_anxious_at_the_threshold_but_other_feelings_do_not():
    assert classifier.decide({"calm": 0.6, "anxious": 0.3, "angry": 0.05, "distressed": 0.05}, 0.3) == "anxious"
    assert classifier.decide({"calm": 0.6, "anxious": 0.3, "angry": 0.05, "distressed": 0.05}, 0.4) == "calm"
    assert classifier.decide({"calm": 0.1, "anxious": 0.3, "angry": 0.1, "distressed": 0.5}, 0.2) == "distressed"


def test_the_crisis_heads_call_is_carried_to_the_sensing(monkeypatch):
    class InCrisis(_Scripted):
        def in_crisis(self, emotion):
            return True

    monkeypatch.setattr(classifier, "shared", lambda: InCrisis(["distressed"]))
    assert care.next_state(care.CareState(), "我把密码留给孩子了").in_crisis
    assert not care.next_state(care.CareState(), "/affirm").in_crisis  # a click carries no feeling
