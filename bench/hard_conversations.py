"""The hard conversations (tests/hard_conversations/conversations.yml) through the real servers,
judged by the suite's own oracle (tests/hard_conversations/checker.py).

Starts its own servers (demo mode, fresh state folder), runs every conversation (4 at a time),
and prints the pass rate per category and overall (expectations met, and conversations with
every expectation met), the failing expectations per category counted by keyword, and every
failing check with its reason. The output is also written to
bench/results/hard_conversations-<date>.txt; each conversation's transcript goes to
results/hard_conversations/bench-<time>/ (git-ignored).

Usage: python -m bench.hard_conversations [--workers 4] [--rasa-port 5205 --action-port 5255
--copilot-port 5277] (the ports also from ANXIN_BENCH_RASA_PORT, ANXIN_BENCH_ACTION_PORT,
ANXIN_BENCH_COPILOT_PORT, so two benches can run side by side).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time

from bench.common import ROOT, bench_servers, machine_facts
from tests.hard_conversations.runner import report, run_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--listed", type=int, default=1000, help="failing checks listed with their reasons")
    parser.add_argument("--rasa-port", type=int, default=int(os.environ.get("ANXIN_BENCH_RASA_PORT", 5205)))
    parser.add_argument("--action-port", type=int, default=int(os.environ.get("ANXIN_BENCH_ACTION_PORT", 5255)))
    parser.add_argument("--copilot-port", type=int, default=int(os.environ.get("ANXIN_BENCH_COPILOT_PORT", 5277)))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / f"hard_conversations-{dt.date.today()}.txt"))
    args = parser.parse_args()
    header = f"Hard conversations \u2014 {machine_facts()}"
    print(header, flush=True)
    servers = bench_servers("hard")  # sets ANXIN_STATE_DIR: the runner writes the risk states there
    servers.rasa_port, servers.action_port, servers.copilot_port = args.rasa_port, args.action_port, args.copilot_port
    with servers:
        began = time.monotonic()
        transcripts, folder = run_all(servers.rasa_url, servers.app_jwt_secret, workers=args.workers, name="bench")
        seconds = time.monotonic() - began
    turns = sum(len(t["turns"]) for t in transcripts)
    silent = [f"{t['id']} turn {turn['turn']} \u00ab{turn['say']}\u00bb (HTTP {turn['status']})"
              for t in transcripts for turn in t["turns"]
              if turn["status"] != 200 or not any((m.get("text") or "").strip() for m in turn["bot"])]
    body = (f"  {len(transcripts)} conversations, {turns} turns in {seconds:.0f} s ({args.workers} at a time); "
            f"turns with no answer (not 200, or no text): {len(silent)}\n"
            + "".join(f"    {line}\n" for line in silent)
            + f"  transcripts: {folder.relative_to(ROOT)}\n" + report(transcripts, failures_listed=args.listed))
    print(body)
    with open(args.out, "w", encoding="utf-8") as out:
        out.write(header + "\n" + body + "\n")
    print(f"  written to {os.path.relpath(args.out, ROOT)}")


if __name__ == "__main__":
    main()
