"""Decide whether a message signals a crisis (self-harm, suicide) or a fraud in progress.

Two readers of a crisis, as a bank's reviewers would want: the reviewed signal lists in
signals.yml (said outright, minus near misses such as "this fee is killing me" or 死期存款),
and the emotion model's crisis head (bot/emotion/train.py: trained on crisis_train.yml,
written apart from the benchmark set, its threshold chosen on crisis_tune.yml), which catches
what lists miss: farewells, "it's over for me", giving things away. Either is enough. A fraud
in progress is read from the signal lists only. The benchmark (bench/crisis_detection.py)
reports each reader and both.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

from bot.language import to_simplified

SIGNALS = Path(__file__).with_name("signals.yml")
CRISIS, FRAUD = "crisis", "fraud"


@functools.lru_cache(maxsize=1)
def signals() -> dict:
    return yaml.safe_load(SIGNALS.read_text(encoding="utf-8"))


def _folded(text: str) -> str:
    """Simplified characters (安全帳戶 is 安全账户), case-folded, runs of spaces made one (English),
    spaces between CJK characters dropped."""
    folded = re.sub(r"\s+", " ", to_simplified(text).casefold().replace("’", "'"))
    return re.sub(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", "", folded)


def _says(kind: str, text: str) -> bool:
    folded = _folded(text)
    squeezed = folded.replace(" ", "")
    entry = signals()[kind]
    for phrase in (p for words in entry["unless"].values() for p in words):
        folded = folded.replace(phrase.casefold(), " ")
        squeezed = squeezed.replace(phrase.casefold().replace(" ", ""), " ")
    return any((p.casefold() in folded) if " " in p else (p.casefold() in squeezed)
               for words in entry["strong"].values() for p in words)


def crisis_by_signals(text: str) -> bool:
    return _says(CRISIS, text)


def detect(text: str | None, model_says_crisis: bool = False) -> str | None:
    """``crisis``, ``fraud`` or None for one customer message (``model_says_crisis``: the
    emotion model's crisis head flagged it). A crisis outranks a fraud."""
    if not text or text.startswith("/"):
        return None
    if model_says_crisis or crisis_by_signals(text):
        return CRISIS
    if _says(FRAUD, text):
        return FRAUD
    return None


def hotline(language: str) -> str:
    return signals()["hotline"][language]
