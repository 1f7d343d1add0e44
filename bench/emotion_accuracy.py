"""Emotion classifier quality and speed on bench/data/emotion_eval.yml (304 messages, zh + en).

Prints precision / recall / F1 per class and per language, the anxious figures the product
targets (recall >= 0.90 at precision >= 0.80), the confusion matrix, and the latency of one
message at a time (encode + cues + head), p50/p95.
Usage: python -m bench.emotion_accuracy
"""

from __future__ import annotations

import time

import yaml

from bench.common import ROOT, machine_facts, per_class_scores, summary_ms
from bot.emotion.classifier import LABELS, EmotionClassifier

EVAL_FILE = ROOT / "bench" / "data" / "emotion_eval.yml"


def per_class(pairs: list[tuple[str, str]]) -> dict[str, tuple[float, float, float, int]]:
    return per_class_scores(pairs, LABELS)


def main() -> None:
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
        for label, (precision, recall, f1, support) in per_class(subset).items():
            print(f"  {label:<11} precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  (n={support})")
    precision, recall, f1, _ = per_class(everything)["anxious"]
    print(f"\nanxious (target recall >= 0.90 at precision >= 0.80): recall {recall:.3f}, precision {precision:.3f}")
    print("\nconfusion (rows gold, columns predicted):")
    print(" " * 12 + "".join(f"{label:>11}" for label in LABELS))
    for gold in LABELS:
        print(f"{gold:<12}" + "".join(f"{sum(g == gold and p == pred for g, p in everything):>11}" for pred in LABELS))
    print(f"\nlatency per message: {summary_ms(latencies)}")
    print(f"\nmisclassified ({len(misses)}):")
    print("\n".join(misses))


if __name__ == "__main__":
    main()
