"""The RulePolicy given the last states its rules can see, not the whole conversation.

Rasa's RulePolicy asks for every state of the conversation (its featurizer has no max history)
and then walks all of them, twice per prediction: at turn 300 that was the largest part of what
a late turn still spent more than an early one (bench/load_profile.py). Yet a rule only looks as
far back as it is long: ``_is_rule_applicable`` returns True for every state further back than
the rule (Rasa 3.6, rule_policy.py), so states beyond the longest rule decide nothing. Here the
policy's featurizer keeps the last ``window`` states, ``window`` one more than the longest
rule (general and loop-unhappy-path rules alike), so:

- the rules that apply, hence the prediction, are the same;
- when no rule applies, the "source" Rasa returns is a key made of the states seen (only
  compared with rule keys, for ``hide_rule_turn``): a window longer than every rule is no
  rule's key, as the whole conversation's was not; a conversation shorter than the window is
  not cut at all;
- training and ``rasa test`` are Rasa's own (the server alone installs this).
"""

from __future__ import annotations

import copy
from typing import Any

_WINDOWED = "_anxin_windowed_featurizer"


def window(policy: Any) -> int:
    """One more state than the longest rule the policy knows."""
    from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH

    keys = [key for name in (RULES, RULES_FOR_LOOP_UNHAPPY_PATH) for key in policy.lookup.get(name, {})]
    return 1 + max((len(policy._rule_key_to_state(key)) for key in keys), default=0)


def _windowed_featurizer(policy: Any) -> Any:
    featurizer = policy.__dict__.get(_WINDOWED)
    if featurizer is None or featurizer[0] is not policy.featurizer:
        windowed = copy.copy(policy.featurizer)
        windowed.max_history = window(policy)
        featurizer = policy.__dict__[_WINDOWED] = (policy.featurizer, windowed)
    return featurizer[1]


def install() -> None:
    """Route the RulePolicy's prediction states through the window; idempotent."""
    from rasa.core.policies.policy import SupportedData
    from rasa.core.policies.rule_policy import RulePolicy

    if getattr(RulePolicy._prediction_states, "_anxin_window", False):
        return
    original = RulePolicy._prediction_states

    def _prediction_states(self: Any, tracker: Any, domain: Any, use_text_for_last_user_input: bool = False,
                           rule_only_data: Any = None) -> list:
        if getattr(self.featurizer, "max_history", 0) is not None:
            return original(self, tracker, domain, use_text_for_last_user_input, rule_only_data)
        # Policy._prediction_states, with the windowed featurizer
        return _windowed_featurizer(self).prediction_states(
            [tracker], domain, use_text_for_last_user_input=use_text_for_last_user_input,
            ignore_rule_only_turns=self.supported_data() == SupportedData.ML_DATA,
            rule_only_data=rule_only_data,
            ignore_action_unlikely_intent=self.supported_data() == SupportedData.ML_DATA,
        )[0]

    _prediction_states._anxin_window = True  # type: ignore[attr-defined]
    _prediction_states.original = original  # type: ignore[attr-defined]
    RulePolicy._prediction_states = _prediction_states  # type: ignore[method-assign]
