"""Train the emotion head: ``python -m bot.emotion.train`` (reproducible: fixed seed, fixed data).

Training data: the hand-written banking messages in data/emotion/train.yml, plus every NLU
training example of data/nlu except the complaint and market_worry intents as "calm" (real banking questions,
which keep ordinary questions from being read as anxious). Writes models/emotion/head.pkl.
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

import yaml
from sklearn.linear_model import LogisticRegression

from bot import settings
from bot.emotion.classifier import features
from bot.settings import PROJECT_ROOT

TRAIN_FILE = PROJECT_ROOT / "data" / "emotion" / "train.yml"
NLU_FILES = sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml"))
NOT_CALM_INTENTS = {"complaint", "market_worry"}  # these carry feeling by definition


def training_set() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    written = yaml.safe_load(TRAIN_FILE.read_text(encoding="utf-8"))
    for label, by_language in written.items():
        for messages in by_language.values():
            texts += messages
            labels += [label] * len(messages)
    for path in NLU_FILES:
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if "intent" in block and block["intent"] not in NOT_CALM_INTENTS:
                examples = [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
                examples = [e for e in examples if "[" not in e and "{" not in e]  # skip annotated ones
                texts += examples
                labels += ["calm"] * len(examples)
    return texts, labels


def train(out: Path | None = None) -> dict:
    out = out or settings.emotion_model_path()
    started = time.perf_counter()
    texts, labels = training_set()
    head = LogisticRegression(C=4.0, class_weight="balanced", max_iter=5000, random_state=7)
    head.fit(features(texts), labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as handle:
        pickle.dump(head, handle)
    tmp.replace(out)
    counts = {label: labels.count(label) for label in sorted(set(labels))}
    return {"examples": counts, "seconds": round(time.perf_counter() - started, 1), "path": str(out)}


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    print(f"emotion head trained: {train()}")


if __name__ == "__main__":
    main()
