"""Classify one customer message as calm, anxious, angry or distressed.

A model, not a word list alone: the sentence embedding (multilingual-e5, the same offline
encoder as the knowledge base, through sentence-transformers) carries what the words mean in
either language; counts of the cues in cues.yml (担心, 怎么办, "lost everything", !!!) carry what
a lexicon catches reliably. A logistic-regression head trained here (bot.emotion.train) weighs
both; a message the head would call calm is anxious once the probability of "anxious" reaches
``anxious_over_calm`` (chosen on a development set by train.py: a missed anxious customer costs
more than a gentle false alarm). ``anxiety`` is the head's probability of "anxious" plus half
that of "distressed", so a panicking customer and a desperate one both score high, clipped to
[0, 1].
"""

from __future__ import annotations

import pickle
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot import settings
from bot.emotion.lexicon import cues
from bot.knowledge import encoders

LABELS = ("calm", "anxious", "angry", "distressed")
ENCODER = "e5-small-q4"
MAX_CHARS = 512  # longer messages are cut: the start carries the feeling, and latency stays flat


@dataclass(frozen=True)
class Emotion:
    label: str
    anxiety: float
    scores: dict[str, float]
    crisis: float = 0.0  # probability that the message signals self-harm or suicide (crisis head)


def cue_features(texts: list[str]) -> np.ndarray:
    """Per message: how many cue words of each emotion it contains, then the pattern hits."""
    words, patterns = cues()
    rows = []
    for text in texts:
        folded = text.casefold()
        rows.append([min(sum(w in folded for w in ws), 3) for ws in words.values()]
                    + [1.0 if p.search(text) else 0.0 for p in patterns])
    return np.asarray(rows, dtype=np.float32)


def features(texts: list[str]) -> np.ndarray:
    cut = [text[:MAX_CHARS] if text.strip() else "-" for text in texts]
    # One live message: through the encoder's message cache, which retrieval then reuses.
    vectors = encoders.encode_message(ENCODER, cut[0]) if len(cut) == 1 else encoders.encode(ENCODER, cut)
    return np.hstack([vectors, cue_features(cut)])


def decide(scores: dict[str, float], anxious_over_calm: float) -> str:
    """The label: the most probable one, except that calm gives way to anxious at the threshold."""
    label = max(scores, key=scores.get)
    return "anxious" if label == "calm" and scores["anxious"] >= anxious_over_calm else label


FEELINGS = ("anxious", "distressed", "angry")


def opener_due(scores: dict[str, float], empathy_at: float) -> bool:
    """Whether the message deserves an empathetic (or apologetic) opener: the most probable
    label is a feeling, with at least ``empathy_at`` probability. Deliberately stricter than
    ``decide``, which holds back selling at a low threshold (bot.emotion.train explains both)."""
    top = max(scores, key=scores.get)
    return top in FEELINGS and scores[top] >= empathy_at


class EmotionClassifier:
    def __init__(self, path: Path | None = None) -> None:
        path = path or settings.emotion_model_path()
        if not path.exists():
            raise FileNotFoundError(f"no emotion model at {path}: run `python -m bot.emotion.train`")
        with open(path, "rb") as handle:
            model = pickle.load(handle)
        self.head, self.anxious_over_calm = model["head"], model["anxious_over_calm"]
        # A second head, crisis or not, trained on data/emotion/crisis_train.yml (bot.emotion.train).
        self.crisis_head, self.crisis_at = model.get("crisis_head"), model.get("crisis_at", 1.0)
        self.empathy_at = model.get("empathy_at", 0.0)
        self.labels = [str(label) for label in self.head.classes_]

    def classify(self, text: str) -> Emotion:
        return self.classify_many([text])[0]

    def classify_many(self, texts: list[str]) -> list[Emotion]:
        x = features(texts)
        probabilities = self.head.predict_proba(x)
        crisis = self.crisis_head.predict_proba(x)[:, 1] if self.crisis_head is not None else [0.0] * len(texts)
        results = []
        for row, in_crisis in zip(probabilities, crisis, strict=True):
            scores = {label: float(p) for label, p in zip(self.labels, row, strict=True)}
            anxiety = min(1.0, scores["anxious"] + 0.5 * scores["distressed"])
            results.append(Emotion(decide(scores, self.anxious_over_calm), round(anxiety, 3), scores, float(in_crisis)))
        return results

    def opener_due(self, emotion: Emotion) -> bool:
        return opener_due(emotion.scores, self.empathy_at)

    def in_crisis(self, emotion: Emotion) -> bool:
        """The crisis head's call, at the threshold chosen on the tuning set."""
        return emotion.crisis >= self.crisis_at


_shared: EmotionClassifier | None = None
_lock = threading.Lock()


def shared() -> EmotionClassifier:
    """The process-wide classifier, loaded on first use (or by the action server's start hook)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = EmotionClassifier()
        return _shared
