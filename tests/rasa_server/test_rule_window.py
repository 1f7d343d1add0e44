"""The RulePolicy with its window (bot/rasa_ext/rule_window.py) predicts what Rasa's RulePolicy
predicts — probabilities, events, hidden rule turns — on every prefix of every story and rule of
data/, and on long conversations, with the trained model's own rules (models/anxin.tar.gz)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import pytest
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext import rule_window
from tests.rasa_server.conftest import rasa_s_own

MODEL = Path(__file__).resolve().parents[2] / "models" / "anxin.tar.gz"


@pytest.fixture(scope="module")
def rule_policy() -> RulePolicy:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: make test trains it first")
    storage, metadata = LocalModelStorage.from_model_archive(Path(tempfile.mkdtemp()), MODEL)
    node = next(n for n in metadata.predict_schema.nodes.values() if n.uses is RulePolicy)
    config = {**RulePolicy.get_default_config(), **node.config}
    return RulePolicy.load(config, storage, node.resource, ExecutionContext(metadata.predict_schema))


def _predict(policy, tracker, domain, windowed: bool):
    """With the window, or Rasa's own RulePolicy (and Rasa's own states and applied events)."""
    with contextlib.nullcontext() if windowed else rasa_s_own():
        prediction = policy.predict_action_probabilities(tracker, domain)
    return (prediction.probabilities, prediction.events, prediction.hide_rule_turn,
            prediction.is_end_to_end_prediction, prediction.is_no_user_prediction)


def test_the_window_is_one_more_than_the_longest_rule(rule_policy):
    rule_window.install()
    longest = max(len(rule_policy._rule_key_to_state(key)) for key in rule_policy.lookup["rules"])
    assert rule_window.window(rule_policy) == longest + 1 > 2


def test_same_predictions_on_every_prefix_and_on_long_conversations(rule_policy, domain, conversations):
    rule_window.install()
    compared = predicted = 0
    window = rule_window.window(rule_policy)
    long_ones = [c * (1 + 3 * window // len(c)) for c in conversations[::5]]  # longer than the window
    for number, events in enumerate(conversations + long_ones):
        for end in range(1, len(events) + 1):
            tracker = DialogueStateTracker.from_events(f"w{number}", events[:end], domain.slots)
            windowed = _predict(rule_policy, tracker, domain, windowed=True)
            assert windowed == _predict(rule_policy, tracker, domain, windowed=False), (number, end)
            compared += 1
            predicted += max(windowed[0]) == 1.0
    assert compared > 1000 and predicted > compared // 4  # rules did apply, often
