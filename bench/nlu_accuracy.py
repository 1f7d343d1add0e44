"""NLU intent accuracy and macro-F1 per language on the held-out set (bench/data/nlu_heldout.yml).

Parses every held-out message through the trained model served by the real Rasa server
(``/model/parse``) and prints accuracy, macro-F1, the weakest intents and the confusions.
Usage: python -m bench.nlu_accuracy [--rasa-url URL --token TOKEN]  (default: starts servers)
"""

from __future__ import annotations

import argparse
import collections
import os

import requests
import yaml

from bench.common import ROOT, bench_servers, machine_facts, per_class_scores

HELDOUT = ROOT / "bench" / "data" / "nlu_heldout.yml"


def macro_f1(pairs: list[tuple[str, str]]) -> tuple[float, dict[str, float]]:
    scores = {label: f1 for label, (_, _, f1, _) in
              per_class_scores(pairs, sorted({gold for gold, _ in pairs})).items()}
    return sum(scores.values()) / len(scores), scores


def evaluate(rasa_url: str, token: str) -> None:
    heldout = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))
    session = requests.Session()
    results: dict[str, list[tuple[str, str, str]]] = collections.defaultdict(list)
    for intent, by_language in heldout.items():
        for language, messages in by_language.items():
            for text in messages:
                parsed = session.post(f"{rasa_url}/model/parse", headers={"Authorization": f"Bearer {token}"},
                                      json={"text": text}, timeout=30).json()
                results[language].append((intent, parsed["intent"]["name"], text))
    print(f"NLU held-out evaluation — {machine_facts()}")
    for language, rows in results.items():
        pairs = [(gold, predicted) for gold, predicted, _ in rows]
        accuracy = sum(g == p for g, p in pairs) / len(pairs)
        f1, per_intent = macro_f1(pairs)
        weakest = ", ".join(f"{k} {v:.2f}" for k, v in sorted(per_intent.items(), key=lambda kv: kv[1])[:3])
        print(f"  {language}: {len(pairs)} messages, {len(per_intent)} intents — "
              f"accuracy {accuracy:.3f}, macro-F1 {f1:.3f} (weakest: {weakest})")
        for gold, predicted, text in rows:
            if gold != predicted:
                print(f"      {text!r}: expected {gold}, got {predicted}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa-url")
    parser.add_argument("--token", default=os.environ.get("ANXIN_API_TOKEN", ""))
    args = parser.parse_args()
    if args.rasa_url:
        evaluate(args.rasa_url, args.token)
        return
    with bench_servers("nlu") as servers:
        evaluate(servers.rasa_url, servers.token)


if __name__ == "__main__":
    main()
