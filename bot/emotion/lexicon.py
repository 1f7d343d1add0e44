"""The reviewed emotion lexicon (cues.yml): words and patterns per emotion class.

Two readers: the classifier counts the cues as features next to the sentence embedding, and
the suitability gate holds back selling when a message says worry outright (``says_worry``).
Why the second: holding back a product pitch is the low-threshold decision — a worried
customer pitched to costs more than a calm one who hears "not now" — and a model can read
"基金跌了好多我好慌" as calm (the empathy benchmark caught two such messages); a reviewed word
said outright is not left to the model. Kept free of the encoder so the gate stays light.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

from bot.language import to_simplified

CUES_FILE = Path(__file__).with_name("cues.yml")
WORRY_CLASSES = ("anxious", "distressed")


@functools.lru_cache(maxsize=1)
def cues() -> tuple[dict[str, tuple[str, ...]], tuple[re.Pattern, ...]]:
    with open(CUES_FILE, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    patterns = tuple(re.compile(p) for p in raw.pop("patterns").values())
    return {label: tuple(w.casefold() for w in words) for label, words in raw.items()}, patterns


def says_worry(text: str | None) -> bool:
    """True when the message contains a reviewed anxious or distressed cue word."""
    folded = to_simplified(text or "").casefold()
    words, _ = cues()
    return any(word in folded for label in WORRY_CLASSES for word in words[label])
