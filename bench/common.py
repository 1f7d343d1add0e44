"""Shared by the benchmarks: machine facts printed with every figure, and percentiles."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine_facts() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}; {os.cpu_count()} cores ({cpu}){memory}; "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}")


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation), in the unit of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, int(round(pct / 100 * len(ordered) + 0.5)))
    return ordered[min(rank, len(ordered)) - 1]


def run_concurrently(count: int, work: Callable[[int], None]) -> float:
    """Run ``work(i)`` for i in 0..count-1, each in its own thread, all at once; returns the
    seconds until the last one ends."""
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - began


def per_class_scores(pairs: list[tuple[str, str]], labels) -> dict[str, tuple[float, float, float, int]]:
    """(gold, predicted) pairs -> label: (precision, recall, F1, support)."""
    table = {}
    for label in labels:
        tp = sum(g == label and p == label for g, p in pairs)
        fp = sum(g != label and p == label for g, p in pairs)
        fn = sum(g == label and p != label for g, p in pairs)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table[label] = (precision, recall, f1, tp + fn)
    return table


def summary_ms(seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (f"p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, "
            f"mean {statistics.fmean(ms):.0f} ms, n={len(ms)}")


def bench_servers(prefix: str):
    """The real servers on the benchmark ports, in demo mode (demo accounts), with a fresh state
    folder unless one is set."""
    from bot.servers import Servers

    os.environ.setdefault("ANXIN_STATE_DIR", tempfile.mkdtemp(prefix=f"anxin-{prefix}-"))
    os.environ.setdefault("ANXIN_DEMO_MODE", "1")
    # Load from one address and conversations with no think time: the limits would measure
    # themselves, not the bot (they are on by default; tests/e2e/test_production_mode.py).
    for kind in ("ADDRESS", "CUSTOMER", "WECHAT"):
        os.environ.setdefault(f"ANXIN_RATE_LIMIT_{kind}", "off")
    return Servers(rasa_port=5205, action_port=5255, copilot_port=5277)


def signed_session(app_jwt_secret: str, customer: str, minutes: int = 120):
    """An HTTP session that speaks as ``customer`` with a token signed as the bank app's backend
    signs them (the servers' HS256 key)."""
    import requests

    from bot.identity.tokens import CustomerTokens

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {CustomerTokens(app_jwt_secret).issue(customer, minutes)}"
    return session
