"""REST latency and throughput of the running bot (both real servers), and their start time.

Prints p50/p95 per turn for 1 and for 20 concurrent conversations, turns per second, and
how long both servers take from launch to ready. Bounded: a fixed number of turns and a
wall-clock cap; all traffic goes to 127.0.0.1.
Usage: python -m bench.rest_latency [--turns 40] [--concurrent 20] [--turns-each 20]
"""

from __future__ import annotations

import argparse
import itertools
import time
import uuid

from bench.common import bench_servers, machine_facts, run_concurrently, signed_session, summary_ms

# One realistic conversation, repeated: templates, custom actions, the transfer form.
SCRIPT = ["你好", "查一下余额", "跨行转账要手续费吗", "what's my balance", "我要转账", "张三", "100",
          "确认", "thanks", "bye"]
WALL_CLOCK_CAP_S = 600


def converse(url: str, secret: str, turns: int, latencies: list[float], errors: list[str], deadline: float) -> None:
    sender = f"bench-{uuid.uuid4().hex[:12]}"
    session = signed_session(secret, sender)
    for text in itertools.islice(itertools.cycle(SCRIPT), turns):
        if time.monotonic() > deadline:
            errors.append("wall-clock cap reached")
            return
        started = time.monotonic()
        reply = session.post(url, json={"message": text}, timeout=60)
        latencies.append(time.monotonic() - started)
        if reply.status_code != 200 or not reply.json():
            errors.append(f"{reply.status_code} for {text!r}")


def run_level(url: str, secret: str, conversations: int, turns_each: int) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + WALL_CLOCK_CAP_S
    elapsed = run_concurrently(conversations, lambda _: converse(url, secret, turns_each, latencies, errors, deadline))
    return latencies, errors, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40, help="turns of the single conversation")
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--turns-each", type=int, default=20)
    args = parser.parse_args()
    print(f"REST benchmark — {machine_facts()}")
    with bench_servers("bench") as servers:
        print(f"  start: all servers ready {servers.started_in:.1f} s after launch")
        url = f"{servers.rasa_url}/webhooks/rest/webhook"
        secret = servers.app_jwt_secret
        converse(url, secret, len(SCRIPT), [], [], time.monotonic() + 120)  # warm-up, not counted
        for conversations, turns in ((1, args.turns), (args.concurrent, args.turns_each)):
            latencies, errors, wall = run_level(url, secret, conversations, turns)
            print(f"  {conversations:>2} concurrent conversation(s): {summary_ms(latencies)}; "
                  f"{len(latencies) / wall:.1f} turns/s; errors {len(errors)}")
            for error in sorted(set(errors))[:5]:
                print(f"      error: {error}")


if __name__ == "__main__":
    main()
