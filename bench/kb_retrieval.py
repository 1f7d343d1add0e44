"""Knowledge-base retrieval quality and speed on bench/data/kb_questions.yml.

For each offline encoder: builds an index from knowledge/ (temporary folder), fits the
answerability model on knowledge/calibration.yml exactly as `bot.knowledge.calibrate` does,
then scores the separate evaluation set: hit@1, hit@3, MRR over answerable questions (by
language), refusal rate on unanswerable questions, false-refusal rate on answerable ones,
and query latency p50/p95 (one query at a time, encode + FAISS search + decision).
Usage: python -m bench.kb_retrieval [--encoders e5-small-q4,use-m3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import ROOT, machine_facts, summary_ms
from bot.knowledge import calibrate, encoders, index
from bot.knowledge.retriever import Retriever, retrieval_settings

QUESTIONS = ROOT / "bench" / "data" / "kb_questions.yml"


def evaluate(encoder: str, questions: dict, calibration: dict) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"kb-{encoder}-"))
    manifest = index.build(folder, encoder, progress=False)
    settings = retrieval_settings()
    retriever = Retriever(folder, settings)
    settings["answerability"] = calibrate.fit(retriever, calibration)
    retriever.answer("warm-up", "zh")
    ranks, refused, latencies = {"zh": [], "en": []}, [], []
    for question in questions["answerable"]:
        started = time.perf_counter()
        answer = retriever.answer(question["q"], question["lang"])
        latencies.append(time.perf_counter() - started)
        ids = [hit.entry_id for hit in retriever.search(question["q"], question["lang"], 10)]
        ranks[question["lang"]].append(ids.index(question["expect"]) + 1 if question["expect"] in ids else None)
        refused.append((not answer.reliable, ids[0] == question["expect"]))
    refused_unanswerable = []
    for question in questions["unanswerable"]:
        started = time.perf_counter()
        refused_unanswerable.append(not retriever.answer(question["q"], question["lang"]).reliable)
        latencies.append(time.perf_counter() - started)
    size = sum(path.stat().st_size for path in folder.iterdir() if not path.name.startswith("embeddings"))
    right = [was_refused for was_refused, top_right in refused if top_right]
    return {"manifest": manifest, "ranks": ranks,
            "false_refusal": sum(was_refused for was_refused, _ in refused) / len(refused),
            "false_refusal_right": sum(right) / len(right),
            "wrong_answers": sum(not refused_it and not top_right for refused_it, top_right in refused) / len(refused),
            "refusal": sum(refused_unanswerable) / len(refused_unanswerable), "latencies": latencies,
            "index_bytes": size, "model": settings["answerability"]}


def _ranking(ranks: list) -> str:
    n = len(ranks)
    hit1 = sum(r == 1 for r in ranks) / n
    hit3 = sum(r is not None and r <= 3 for r in ranks) / n
    mrr = sum(1 / r for r in ranks if r) / n
    return f"hit@1 {hit1:.3f}  hit@3 {hit3:.3f}  MRR {mrr:.3f}  (n={n})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default=",".join(encoders.ENCODERS))
    args = parser.parse_args()
    questions = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    calibration = yaml.safe_load(calibrate.CALIBRATION_FILE.read_text(encoding="utf-8"))
    print(f"# Knowledge-base retrieval — {machine_facts()}")
    print(f"evaluation set: {len(questions['answerable'])} answerable, {len(questions['unanswerable'])} "
          f"unanswerable; calibration set (separate): {len(calibration['answerable'])} + "
          f"{len(calibration['unanswerable'])}")
    for encoder in args.encoders.split(","):
        result = evaluate(encoder, questions, calibration)
        manifest = result["manifest"]
        print(f"\n## {encoder}: {manifest['entries']} entries, {manifest['passages']} passages, "
              f"{manifest['vectors']} vectors x {manifest['dimension']} ({manifest['index_type']}, "
              f"{result['index_bytes'] / 1024:.0f} KiB on disk), built in {manifest['seconds']} s")
        for language in ("zh", "en"):
            print(f"  {language}: {_ranking(result['ranks'][language])}")
        print(f"  all: {_ranking(result['ranks']['zh'] + result['ranks']['en'])}")
        print(f"  refusal on unanswerable {result['refusal']:.3f}   false refusal {result['false_refusal']:.3f} "
              f"(of answerable questions whose top hit is right: {result['false_refusal_right']:.3f}; "
              f"answered from a wrong entry: {result['wrong_answers']:.3f})")
        print(f"  query latency: {summary_ms(result['latencies'])}")
        print(f"  answerability model (fitted on calibration set): {result['model']}")


if __name__ == "__main__":
    main()
