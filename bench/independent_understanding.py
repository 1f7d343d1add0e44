"""Understanding on the independent evaluation sets (bench/data/independent/, written by helpers
from the label definitions only, never used for training or tuning): crisis false alarms on
general text and near misses, crisis recall, 4-class emotion on general text, scams in progress.

    python -m bench.independent_understanding [--out bench/results/...txt]

It reads the action server's own models in this process (the emotion head with its crisis head,
the signal lists of bot/safety) exactly as the actions call them; the oracle is the set's labels.
The issue-24 targets are printed beside each figure.
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path

import yaml

from bench.common import machine_facts
from bot.emotion.classifier import shared
from bot.safety.detect import CRISIS, FRAUD, detect

ROOT = Path(__file__).resolve().parent.parent
SETS = ROOT / "bench" / "data" / "independent"


def items(*parts: str) -> list[dict]:
    return yaml.safe_load((SETS.joinpath(*parts)).read_text(encoding="utf-8"))["items"]


def read(texts: list[str]) -> list[tuple]:
    """(emotion label, detect() verdict) per text, as action_sense_emotion computes them."""
    classifier = shared()
    out = []
    for start in range(0, len(texts), 64):
        chunk = texts[start:start + 64]
        for text, emotion in zip(chunk, classifier.classify_many(chunk), strict=True):
            out.append((emotion.label, detect(text, classifier.in_crisis(emotion))))
    return out


def share(hits: int, total: int) -> str:
    return f"{hits}/{total} = {hits / total:.3f}" if total else "0/0"


def crisis_report(lines: list[str]) -> None:
    general = items("crisis", "general.yml")
    crisis, near = items("crisis", "crisis.yml"), items("crisis", "near_miss.yml")
    verdicts = read([i["text"] for i in general + crisis + near])
    ends = (len(general), len(general) + len(crisis))
    g, c, n = verdicts[:ends[0]], verdicts[ends[0]:ends[1]], verdicts[ends[1]:]
    lines.append("## Crisis (targets: general false alarms <= 0.01, recall >= 0.95 per language, "
                 "near-miss false alarms <= 0.03)")
    alarms = [i for i, v in zip(general, g, strict=True) if v[1] == CRISIS]
    lines.append(f"general text false alarms: {share(len(alarms), len(general))}")
    per_kind = collections.Counter(i["kind"] for i in alarms)
    totals = collections.Counter(i["kind"] for i in general)
    for kind in sorted(totals):
        lines.append(f"  {kind:24s} {share(per_kind[kind], totals[kind])}")
    for lang in ("zh", "en"):
        chosen = [v for i, v in zip(crisis, c, strict=True) if i["lang"] == lang]
        lines.append(f"crisis recall {lang}: {share(sum(v[1] == CRISIS for v in chosen), len(chosen))}")
    lines.append(f"near-miss false alarms: {share(sum(v[1] == CRISIS for v in n), len(near))}")
    lines.append("examples of general-text false alarms: " + " | ".join(i["text"][:40] for i in alarms[:8]))


def emotion_report(lines: list[str]) -> None:
    data = items("emotion", "general.yml")
    predicted = [v[0] for v in read([i["text"] for i in data])]
    gold = [i["label"] for i in data]
    lines.append("## Emotion, 4 classes, general text (targets: accuracy >= 0.70; anxious precision >= 0.75 at "
                 "recall >= 0.80; angry recall >= 0.75; angry->anxious <= 0.10)")
    lines.append(f"accuracy: {share(sum(p == g for p, g in zip(predicted, gold, strict=True)), len(gold))}")
    for label in ("calm", "anxious", "angry", "distressed"):
        tp = sum(p == g == label for p, g in zip(predicted, gold, strict=True))
        lines.append(f"  {label:10s} precision {share(tp, predicted.count(label))}"
                     f"  recall {share(tp, gold.count(label))}")
    confusions = collections.Counter((g, p) for p, g in zip(predicted, gold, strict=True) if p != g)
    lines.append(f"angry read as anxious: {share(confusions[('angry', 'anxious')], gold.count('angry'))}")
    common = confusions.most_common(8)
    lines.append("confusions (gold -> predicted): " + ", ".join(f"{g}->{p} {k}" for (g, p), k in common))


def scam_report(lines: list[str]) -> None:
    data = items("scam", "retellings.yml")
    verdicts = read([i["text"] for i in data])
    lines.append("## Scams in progress, retellings (targets: recall >= 0.90 per type, benign warned <= 0.03)")
    lines.append("reader: the fraud signal lists of bot/safety/signals.yml (fires when detect() says fraud)")
    by_label: dict[str, list[bool]] = collections.defaultdict(list)
    for item, verdict in zip(data, verdicts, strict=True):
        by_label[item["label"]].append(verdict[1] == FRAUD)
    for label, fired in sorted(by_label.items()):
        name = "benign warned" if label == "benign" else f"recall {label}"
        lines.append(f"  {name:36s} {share(sum(fired), len(fired))}")
    scams = [f for label, fs in by_label.items() if label != "benign" for f in fs]
    lines.append(f"recall, all scam types: {share(sum(scams), len(scams))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    started = time.time()
    lines = [f"# Understanding on the independent sets ({time.strftime('%Y-%m-%d %H:%M')})", machine_facts(), ""]
    for report in (crisis_report, emotion_report, scam_report):
        report(lines)
        lines.append("")
    lines.append(f"took {time.time() - started:.0f} s")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
