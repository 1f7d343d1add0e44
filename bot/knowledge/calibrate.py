"""Fit the "reliable answer or not" model on knowledge/calibration.yml.

``python -m bot.knowledge.calibrate`` computes the retriever's features for every calibration
question (answerable ones with their expected entry, and questions the base cannot answer),
fits a logistic regression, chooses the probability cut with the best balanced accuracy
(refusing unanswerables vs not refusing answerables), and writes both into
knowledge/retrieval.yml. Run it after the knowledge files change a lot; the bench reports
the effect on a separate question set.
"""

from __future__ import annotations

import argparse

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression

from bot.knowledge.retriever import FEATURES, SETTINGS_FILE, Retriever, retrieval_settings
from bot.knowledge.sources import KNOWLEDGE_DIR

CALIBRATION_FILE = KNOWLEDGE_DIR / "calibration.yml"


def _rows(retriever: Retriever, questions: list[dict]) -> list[tuple[list[float], str]]:
    """Per question: its feature values and the entry the retriever ranks first (one search each)."""
    rows = []
    for question in questions:
        values, hits = retriever.features(question["q"], question["lang"])
        rows.append(([values[name] for name in FEATURES], hits[0].entry_id))
    return rows


def fit(retriever: Retriever, calibration: dict) -> dict:
    answerable, unanswerable = calibration["answerable"], calibration["unanswerable"]
    # An answerable question whose entry is not even the top hit is not a reliable answer either.
    right = [values for (values, top), question in zip(_rows(retriever, answerable), answerable, strict=True)
             if top == question["expect"]]
    wrong_kind = [values for values, _ in _rows(retriever, unanswerable)]
    x = np.array(right + wrong_kind)
    y = np.array([1] * len(right) + [0] * len(wrong_kind))
    model = LogisticRegression(C=100.0, class_weight="balanced", max_iter=5000).fit(x, y)
    probability = model.predict_proba(x)[:, 1]
    cuts = np.unique(probability)
    balanced = [(np.mean(probability[y == 0] < cut) + np.mean(probability[y == 1] >= cut)) / 2 for cut in cuts]
    cut = float(cuts[int(np.argmax(balanced))])
    return {"weights": {name: round(float(w), 4) for name, w in zip(FEATURES, model.coef_[0], strict=True)},
            "intercept": round(float(model.intercept_[0]), 4), "cut": round(cut, 4),
            "fitted_on": {"answerable_top1": len(right), "unanswerable": len(wrong_kind),
                          "balanced_accuracy": round(float(max(balanced)), 3)}}


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    with open(CALIBRATION_FILE, encoding="utf-8") as handle:
        calibration = yaml.safe_load(handle)
    settings = retrieval_settings()
    settings["answerability"] = fit(Retriever(settings=settings), calibration)
    text = SETTINGS_FILE.read_text(encoding="utf-8")
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    SETTINGS_FILE.write_text(header + yaml.safe_dump(settings, sort_keys=False, allow_unicode=True), encoding="utf-8")
    print(f"answerability model written to {SETTINGS_FILE}: {settings['answerability']}")


if __name__ == "__main__":
    main()
