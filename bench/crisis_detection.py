"""Crisis detection: recall on crisis messages, false alarms on near misses, per language and
per reader (signal lists, emotion model, both).

    python -m bench.crisis_detection            # the benchmark set (bench/data/crisis_eval.yml)
    python -m bench.crisis_detection --dev      # the development set used to choose the threshold

The benchmark set was written by another hand from the label definitions only; the detector's
settings were chosen on the development set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from bench.common import machine_facts
from bot.emotion.classifier import shared
from bot.safety.detect import CRISIS, crisis_by_signals, detect

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "bench" / "data" / "crisis_eval.yml"
DEV = ROOT / "data" / "emotion" / "crisis_dev.yml"
TUNE = ROOT / "data" / "emotion" / "crisis_tune.yml"


def evaluate(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    classifier = shared()
    rows = []
    for label in ("crisis", "near_miss"):
        for language, messages in data[label].items():
            for message, emotion in zip(messages, classifier.classify_many(messages), strict=True):
                model = classifier.in_crisis(emotion)
                rows.append({"label": label, "language": language, "text": message,
                             "signals": crisis_by_signals(message), "model": model,
                             "both": detect(message, model) == CRISIS})
    return {"rows": rows}


def rate(rows: list[dict], label: str, reader: str, language: str | None = None) -> tuple[int, int]:
    chosen = [r for r in rows if r["label"] == label and (language is None or r["language"] == language)]
    return sum(r[reader] for r in chosen), len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", action="store_true", help="the developer's small set instead of the benchmark set")
    parser.add_argument("--tune", action="store_true", help="the tuning set (crisis_tune.yml)")
    parser.add_argument("--show-misses", action="store_true", help="list the messages decided wrongly")
    args = parser.parse_args()
    path = DEV if args.dev else TUNE if args.tune else EVAL
    print(f"Crisis detection on {path.relative_to(ROOT)} — {machine_facts()}")
    rows = evaluate(path)["rows"]
    for reader in ("signals", "model", "both"):
        for language in ("zh", "en", None):
            hit, crisis = rate(rows, "crisis", reader, language)
            alarm, near = rate(rows, "near_miss", reader, language)
            print(f"  {reader:8} {language or 'all':3}  recall {hit / crisis:.3f} ({hit}/{crisis})  "
                  f"false alarms on near misses {alarm / near:.3f} ({alarm}/{near})")
    if args.show_misses:
        for r in rows:
            if r["both"] != (r["label"] == "crisis"):
                print(f"  wrong ({r['label']}): {r['text']}")


if __name__ == "__main__":
    main()
