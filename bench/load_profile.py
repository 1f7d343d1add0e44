"""Where Anxin's servers spend their time under load (py-spy, sampling; no code change).

Starts Anxin with one replica (as bench/load.py does), runs locust (20 users, no think time)
and meanwhile records the Rasa server (and the action server) with ``py-spy record`` for a
while; prints the frames with the most samples, inclusive and self, as % of all samples.
Usage: .venv-actions/bin/python -m bench.load_profile [--seconds 40] [--top 40] [--long-turns 0]
With ``--long-turns N`` it profiles one conversation of N turns instead (what grows with length).
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bench.load import Figures, OneReplica, long_conversation, run_locust

PY_SPY = Path(sys.executable).parent / "py-spy"


def summarize(raw: Path, top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    out = [f"{total} samples", "-- inclusive --"]
    out += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    out += ["-- self --"]
    out += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    return "\n".join(out)


def record(pid: int, seconds: int, out: Path, subprocesses: bool = False) -> subprocess.Popen:
    command = [str(PY_SPY), "record", "-p", str(pid), "-d", str(seconds), "-r", "50", "-f", "raw", "-o", str(out),
               "--nonblocking"]
    if subprocesses:
        command.append("--subprocesses")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--long-turns", type=int, default=0)
    args = parser.parse_args()
    target = OneReplica()
    folder = Path(tempfile.mkdtemp(prefix="anxin-profile-"))
    try:
        target.start()
        print(f"ready in {target.started_in:.1f} s", flush=True)
        run_locust(target.url, "anxin", target.secret, 20, 10, "warmup")
        pids = target.pids()
        spies = {name: record(pids[name], args.seconds, folder / f"{name}.txt", subprocesses=name == "actions")
                 for name in ("rasa", "actions")}
        if args.long_turns:
            figures = Figures("long")
            long_conversation(target.url, "anxin", target.secret, args.long_turns, figures)
            print(f"turn10 {figures.turn10_ms:.0f} ms, turn{args.long_turns} {figures.turn300_ms:.0f} ms")
        else:
            worker = threading.Thread(target=lambda: print(run_locust(target.url, "anxin", target.secret, 20,
                                                                      args.seconds + 5, "load"), flush=True))
            worker.start()
            worker.join()
        for name, spy in spies.items():
            spy.wait(timeout=args.seconds + 60)
            print(f"\n===== {name} =====")
            print(summarize(folder / f"{name}.txt", args.top))
        print(f"\nraw stacks in {folder}")
    finally:
        target.stop()


if __name__ == "__main__":
    main()
