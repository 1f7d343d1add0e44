"""Rasa's JiebaTokenizer, reading traditional characters as simplified ones.

Why: the NLU is trained on simplified Chinese, and a customer who writes "我要轉帳" or "轉給張三"
got "sorry, I didn't understand" (the hard-conversation suite: 14 of 38 expectations met in its
traditional-characters category). The message's text is converted before it is tokenized
(bot.language.to_simplified), so intents, entities ("张三") and every featurizer see what the
training data looks like; the stored message keeps what the customer wrote.
"""

from __future__ import annotations

from typing import List  # noqa: UP035 - Rasa 3.6 checks graph components' type hints: typing.List, as its own

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.language import to_simplified


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class SimplifiedJiebaTokenizer(JiebaTokenizer):
    def process(self, messages: List[Message]) -> List[Message]:  # noqa: UP006
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str):
                message.set(TEXT, to_simplified(text))
        return super().process(messages)
