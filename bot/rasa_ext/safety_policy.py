"""SafetyPolicy: a crisis or a fraud in progress outranks every rule, form and story.

The per-turn sensing action (run by ``action_extract_slots`` before any prediction) sets the
``safety_alert`` slot from the customer's message (bot/safety/detect.py). This policy, with a
priority above RulePolicy's, then predicts ``action_safety_protocol`` with full confidence as
the first action of that turn — inside a form too (its predictions are marked "no user
prediction", the class RulePolicy's form happy path belongs to, which the ensemble lets
overrule every other; among those the higher priority wins) — and ``action_listen`` right
after it.
Otherwise it abstains (all zeros), and the other policies decide as before. It learns
nothing from the training data, so a crisis never depends on how many stories show one.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext import processor_patches

# Rasa imports this module to load the model (config.yml), so a plain `rasa run` installs the
# compliance guard (and never_silent) too, before the first message: nothing is served unguarded.
processor_patches.install()

SLOT = "safety_alert"
ACTION = "action_safety_protocol"
PRIORITY = 7  # RulePolicy's is 6: on a tie of full confidence, safety wins


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class SafetyPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": PRIORITY}

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain,
              **kwargs: Any) -> Resource:
        return self._resource

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     rule_only_data: dict[str, Any] | None = None,
                                     **kwargs: Any) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if ACTION not in domain.action_names_or_texts:
            return self._prediction(probabilities)
        latest = tracker.latest_action_name
        if latest == ACTION:
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        elif latest == ACTION_LISTEN_NAME and tracker.get_slot(SLOT) and tracker.latest_message:
            probabilities[domain.index_for_action(ACTION)] = 1.0
        else:
            return self._prediction(probabilities)
        # The ensemble lets "no user" predictions (RulePolicy's form happy path) overrule all
        # others; marked so, this one competes with them and wins on priority.
        return self._prediction(probabilities, is_no_user_prediction=True)
