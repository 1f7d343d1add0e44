"""Search the knowledge index and decide whether the best passage is a reliable answer.

Hits are grouped by entry (the zh and en versions of an entry are one answer), so a Chinese
question can be answered from the English passage of the same entry and shown in Chinese.

"Is this a reliable answer?" is a small logistic model over three scores, fitted by
``bot.knowledge.calibrate`` on knowledge/calibration.yml and stored in knowledge/retrieval.yml.
A raw cosine threshold is not enough: multilingual-e5 scores are compressed (a banking question
the base cannot answer still scores ~0.88 against some banking passage), so the model also
looks at how far the best score rises above the query's mean score over the whole base
(``q . centroid``, exact and O(d) at any size) and at the gap to the runner-up entry.
Below the cut the bot says it has no reliable answer and offers a person instead of guessing.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.knowledge import encoders, index
from bot.knowledge.sources import KNOWLEDGE_DIR, Passage

SETTINGS_FILE = KNOWLEDGE_DIR / "retrieval.yml"


@dataclass(frozen=True)
class Hit:
    entry_id: str
    score: float
    passage: Passage  # in the language asked for when the entry has it


FEATURES = ("top", "lift", "margin")


@dataclass(frozen=True)
class Answer:
    reliable: bool
    confidence: float  # the answerability model's probability
    hits: tuple[Hit, ...]  # best first; empty only for an empty question

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None


def retrieval_settings(path: Path = SETTINGS_FILE) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


class Retriever:
    """A loaded index plus its encoder; thread-safe, load once per process."""

    def __init__(self, index_dir: Path | None = None, settings: dict | None = None) -> None:
        self.settings = settings or retrieval_settings()
        self.loaded = index.load(index_dir)
        self.encoder = self.loaded.manifest["encoder"]
        self.by_key = {p.key: p for p in self.loaded.passages}

    def _search(self, query: str, language: str, k: int) -> tuple[list[Hit], float]:
        """Best entries (one hit per entry, best first) and the query's mean score."""
        vector = encoders.encode_message(self.encoder, query)
        loaded = self.loaded
        scores, rows = loaded.index.search(vector, min(loaded.index.ntotal, 8 * k))
        hits: dict[str, Hit] = {}
        for score, row in zip(scores[0], rows[0], strict=True):
            if row < 0:
                continue
            found = loaded.passages[loaded.rows[row]]
            if found.entry_id not in hits:
                shown = self.by_key.get(f"{found.entry_id}:{language}", found)
                hits[found.entry_id] = Hit(found.entry_id, float(score), shown)
        return list(hits.values())[:k], float(vector[0] @ loaded.centroid)

    def search(self, query: str, language: str = "zh", k: int | None = None) -> list[Hit]:
        """Best entries for ``query``, one hit per entry, best first."""
        if not query.strip():
            return []
        return self._search(query, language, k or self.settings["top_k"])[0]

    def features(self, query: str, language: str = "zh") -> tuple[dict[str, float], list[Hit]]:
        hits, mean_score = self._search(query, language, max(2, self.settings["top_k"]))
        top = hits[0].score
        return {"top": top, "lift": top - mean_score, "margin": top - hits[1].score}, hits

    def answer(self, query: str, language: str = "zh") -> Answer:
        if not query.strip():
            return Answer(False, 0.0, ())
        values, hits = self.features(query, language)
        model = self.settings["answerability"]
        logit = model["intercept"] + sum(model["weights"][name] * values[name] for name in FEATURES)
        confidence = 1.0 / (1.0 + math.exp(-logit))
        return Answer(confidence >= model["cut"], confidence, tuple(hits[:self.settings["top_k"]]))


_shared: Retriever | None = None
_lock = threading.Lock()


def shared() -> Retriever:
    """The process-wide retriever, loaded on first use (or by the action server's start hook)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = Retriever()
        return _shared
