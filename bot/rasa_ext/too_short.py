"""An NLU step after the intent classifier: a message with too little in it to understand
("a", "7", a bare emoji) is ``nlu_fallback``, whatever DIET guessed.

Why: DIET must put every message somewhere, and a single letter landed on "affirm" — which,
after an offer of a person, started a handoff. ``nlu_fallback`` gets a clarifying question
(utter_default). Inside a form the value is still taken (the slot mappings in domain.yml read
``nlu_fallback`` text), so "500" or "2" keeps answering the question that was asked. The rule
of what is too short lives in bot/dialogue/message_shape.py, shared with the action server.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.dialogue.message_shape import too_short
from bot.rasa_ext import processor_patches

# Rasa imports this module to load the model (config.yml), so a plain `rasa run` installs the
# compliance guard (and never_silent) too, before the first message: nothing is served unguarded.
processor_patches.install()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class TooShortToUnderstand(GraphComponent, IntentClassifier):
    """Sets ``nlu_fallback`` for messages too short to understand (confidence 1: it is a rule)."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> TooShortToUnderstand:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if not too_short(message.get(TEXT)):
                continue
            fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.data[INTENT] = fallback
            message.data.setdefault(INTENT_RANKING_KEY, [])
            message.data[INTENT_RANKING_KEY].insert(0, dict(fallback))
        return messages
