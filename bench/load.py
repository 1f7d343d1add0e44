"""Load benchmark (issue 15, item 3): Anxin against a bare ``rasa init`` bot, in one run.

For each of: the bare bot (``rasa init --no-prompt``, built and trained once under
``.state/bench/bare`` and reused), Anxin with one Rasa replica (``bot.servers``: the Rasa server
and the action server, demo mode, rate limits off) and Anxin with two replicas on PostgreSQL +
Redis behind HAProxy (``bot.cluster``, copilot not started):

- ready after launch: from starting the processes to the bot answering its readiness check;
- locust, headless, 20 users (one conversation each) with no think time, over the REST
  channel, a warm-up then a bounded measured run: turns/s, p50, p95, failures;
- CPU of each server process (and its workers) during the measured run, % of one core;
- one long conversation alone (bare and one replica): latency of turn 10 and of turn 300
  (medians of turns 6-15 and 291-300, and of turns 1-60 and 241-300).

Prints a table with the ratios the issue sets as targets and writes it to
``bench/results/load-<date>-<time>.txt``. Every server it starts is stopped by PID at the end,
also on error or Ctrl-C. Ports 5900-5999, PostgreSQL 55499, Redis 56399.
Usage: .venv-actions/bin/python -m bench.load [--duration 60] [--warmup 15] [--users 20]
       [--long-turns 300] [--only bare,one,two]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.common import ROOT, machine_facts

RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
LOCUST_BIN = Path(sys.executable).parent / "locust"
BARE_DIR = ROOT / ".state" / "bench" / "bare"
RESULTS = ROOT / "bench" / "results"
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
PORTS = {"bare": 5901, "one_rasa": 5910, "one_actions": 5960, "two_haproxy": 5920, "two_actions": 5931,
         "two_copilot": 5941}
POSTGRES_PORT, REDIS_PORT = 55499, 56399
LONG_SCRIPT_ANXIN = ["你好", "查一下余额", "跨行转账要手续费吗", "新卡怎么激活", "现金宝的风险等级是多少", "谢谢"]
LONG_SCRIPT_BARE = ["hello", "I am feeling great", "I am sad", "yes", "good morning", "bye"]


@dataclass
class Figures:
    name: str
    ready_s: float = float("nan")
    turns_per_s: float = float("nan")
    p50_ms: float = float("nan")
    p95_ms: float = float("nan")
    requests: int = 0
    failures: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    turn10_ms: float = float("nan")
    turn300_ms: float = float("nan")
    early_ms: float = float("nan")
    late_ms: float = float("nan")
    notes: list[str] = field(default_factory=list)


# -- the bare bot -----------------------------------------------------------------------------


def build_bare() -> Path:
    """``rasa init --no-prompt`` (creates and trains the moodbot) once; reused afterwards."""
    models = sorted((BARE_DIR / "models").glob("*.tar.gz")) if (BARE_DIR / "models").exists() else []
    if models:
        return models[-1]
    if BARE_DIR.exists():
        shutil.rmtree(BARE_DIR)
    BARE_DIR.mkdir(parents=True)
    print(f"  building the bare bot under {BARE_DIR} (rasa init --no-prompt, trains once)...", flush=True)
    done = subprocess.run([str(RASA_BIN), "init", "--no-prompt", "--init-dir", str(BARE_DIR)], cwd=BARE_DIR,
                          env=_rasa_env(), capture_output=True, text=True, timeout=900)
    models = sorted((BARE_DIR / "models").glob("*.tar.gz"))
    if done.returncode or not models:
        raise RuntimeError(f"rasa init failed: {done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return models[-1]


def _rasa_env() -> dict[str, str]:
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", SANIC_HOST="127.0.0.1", PYTHONUNBUFFERED="1")
    env.pop("PYTHONPATH", None)
    return env


class BareBot:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None
        self.started_in = float("nan")

    def start(self, timeout: float = 240) -> BareBot:
        model = build_bare()
        log = (BARE_DIR / "rasa-run.log").open("ab")
        began = time.monotonic()
        self.process = subprocess.Popen([str(RASA_BIN), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(self.port),
                                         "--model", str(model)], cwd=BARE_DIR, env=_rasa_env(), stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = began + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bare rasa exited with {self.process.returncode}; see {BARE_DIR / 'rasa-run.log'}")
            status = _get_json(f"{self.url}/status")
            if status and status.get("model_file"):
                self.started_in = time.monotonic() - began
                return self
            time.sleep(0.25)
        raise TimeoutError("bare rasa not ready")

    def pids(self) -> dict[str, int]:
        return {"rasa": self.process.pid} if self.process else {}

    def stop(self) -> None:
        _kill_group(self.process)


def _kill_group(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def _get_json(url: str, timeout: float = 2.0) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return json.loads(reply.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


# -- Anxin -------------------------------------------------------------------------------------


def _anxin_environment(state: Path) -> dict[str, str]:
    return {"ANXIN_STATE_DIR": str(state), "ANXIN_DEMO_MODE": "1", "ANXIN_RATE_LIMIT_ADDRESS": "off",
            "ANXIN_RATE_LIMIT_CUSTOMER": "off", "ANXIN_RATE_LIMIT_WECHAT": "off"}


class OneReplica:
    """The Rasa server and its action server (bot.servers), without the copilot: no customer turn
    uses it, and its model load would only slow the others' start."""

    def __init__(self) -> None:
        from bot.servers import Servers

        self.state = Path(tempfile.mkdtemp(prefix="anxin-load-one-"))
        environment = _anxin_environment(self.state)
        os.environ.update(environment)  # Servers.migrate reads the state folder from here too
        self.servers = Servers(rasa_port=PORTS["one_rasa"], action_port=PORTS["one_actions"], copilot_port=5979,
                               environment=environment)
        self.url = self.servers.rasa_url
        self.started_in = float("nan")
        self.rasa_ready_in = float("nan")

    @property
    def secret(self) -> str:
        return self.servers.app_jwt_secret

    def start(self, timeout: float = 300) -> OneReplica:
        s = self.servers
        began = time.monotonic()
        try:
            s.migrate()
            s.start_actions()
            s.start_rasa()
            s.wait(s.rasa_ready, "rasa", timeout)
            self.rasa_ready_in = time.monotonic() - began
            s.wait(s.actions_ready, "actions", timeout)
        except BaseException:
            s.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.servers.processes.items()}

    def stop(self) -> None:
        self.servers.stop()


class TwoReplicas:
    def __init__(self) -> None:
        from bot.cluster import Cluster

        self.state = Path(tempfile.mkdtemp(prefix="anxin-load-two-"))
        self.state.chmod(0o755)  # PostgreSQL runs as its own user and must reach its data folder
        environment = _anxin_environment(self.state)
        os.environ.update(environment)
        self.cluster = Cluster(rasa_port=PORTS["two_haproxy"], action_port=PORTS["two_actions"],
                               copilot_port=PORTS["two_copilot"], replicas=2, copilots=0, state=self.state,
                               postgres_port=POSTGRES_PORT, redis_port=REDIS_PORT, environment=environment)
        self.url = self.cluster.rasa_url
        self.started_in = float("nan")

    @property
    def secret(self) -> str:
        return self.cluster.app_jwt_secret

    def start(self, timeout: float = 300) -> TwoReplicas:
        self.cluster.start(timeout)
        self.started_in = self.cluster.started_in
        return self

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.cluster.processes.items()}

    def stop(self) -> None:
        self.cluster.stop()


# -- measuring ---------------------------------------------------------------------------------


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    totals = {}
    for name, pid in pids.items():
        seconds = 0.0
        for process in _tree(pid):
            try:
                times = process.cpu_times()
                seconds += times.user + times.system
            except psutil.Error:
                pass
        totals[name] = seconds
    return totals


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_total(times: Any) -> float:
    """All of a ``psutil.cpu_times()`` (guest time is already inside user time on Linux)."""
    return sum(value for name, value in times._asdict().items() if name not in ("guest", "guest_nice"))


def _stolen_cores(before: Any, after: Any) -> float:
    """Cores' worth of steal time between two ``psutil.cpu_times()`` (0 where not reported)."""
    total = _cpu_total(after) - _cpu_total(before)
    stolen = getattr(after, "steal", 0) - getattr(before, "steal", 0)
    return psutil.cpu_count() * stolen / total if total > 0 else float("nan")


def _busy_cores(before: Any, after: Any) -> float:
    """Cores' worth of busy time between two ``psutil.cpu_times()`` (all cores together)."""
    idle = (after.idle - before.idle) + (getattr(after, "iowait", 0) - getattr(before, "iowait", 0))
    total = _cpu_total(after) - _cpu_total(before)
    return psutil.cpu_count() * (total - idle) / total if total > 0 else float("nan")


def run_locust(url: str, kind: str, secret: str, users: int, seconds: int, tag: str) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="anxin-locust-"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), ANXIN_LOAD_KIND=kind, ANXIN_LOAD_JWT_SECRET=secret)
    command = [str(LOCUST_BIN), "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(users),
               "-t", f"{seconds}s", "--host", url, "--csv", str(folder / tag), "--only-summary",
               "--stop-timeout", "30", "--loglevel", "WARNING"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 120)
    rows = list(csv.DictReader((folder / f"{tag}_stats.csv").open()))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    failures = list(csv.DictReader((folder / f"{tag}_failures.csv").open())) \
        if (folder / f"{tag}_failures.csv").exists() else []
    shutil.rmtree(folder, ignore_errors=True)
    if done.returncode not in (0, 1):  # 1: some requests failed (reported, not fatal)
        raise RuntimeError(f"locust exited {done.returncode}: {done.stderr[-1500:]}")
    return {"requests": int(total["Request Count"]), "failures": int(total["Failure Count"]),
            "p50": float(total["50%"]), "p95": float(total["95%"]), "rps": float(total["Requests/s"]),
            "failure_kinds": [f"{f['Error']} x{f['Occurrences']}" for f in failures][:5]}


def measure_load(target, kind: str, figures: Figures, users: int, warmup: int, duration: int) -> None:
    if warmup:
        run_locust(target.url, kind, getattr(target, "secret", ""), users, warmup, "warmup")
    before = _cpu_seconds(target.pids())
    machine_before, locust_before = psutil.cpu_times(), _children_cpu_seconds()
    began = time.monotonic()
    result = run_locust(target.url, kind, getattr(target, "secret", ""), users, duration, "load")
    wall = time.monotonic() - began
    after = _cpu_seconds(target.pids())
    machine_after, locust_after = psutil.cpu_times(), _children_cpu_seconds()
    figures.turns_per_s, figures.p50_ms, figures.p95_ms = result["rps"], result["p50"], result["p95"]
    figures.requests, figures.failures = result["requests"], result["failures"]
    figures.cpu = {name: 100 * (after.get(name, 0) - before.get(name, 0)) / wall for name in before}
    # the load generator (locust ran as a child and was waited for) and the whole machine
    # (every process, PostgreSQL and Redis included), in % of one core as the others
    figures.cpu["locust"] = 100 * (locust_after - locust_before) / wall
    figures.cpu["machine"] = _busy_cores(machine_before, machine_after) * 100
    # time the hypervisor gave this VM's cores to others (inside "machine"): a run with much of
    # it, or with "machine" well above what the processes listed add up to, was disturbed
    figures.cpu["steal"] = _stolen_cores(machine_before, machine_after) * 100
    figures.notes += [f"failure: {kind}" for kind in result["failure_kinds"]]


def long_conversation(url: str, kind: str, secret: str, turns: int, figures: Figures) -> None:
    import requests

    # A conversation of its own: the locust users speak as demo-c1..c5, so "demo-c3" (used
    # until 2026-11-24 16:30) already had the load run's turns before its "turn 1".
    sender = f"long-{uuid.uuid4().hex[:10]}" if kind == "bare" else f"demo-load-long-{uuid.uuid4().hex[:10]}"
    session = requests.Session()
    if kind != "bare":
        from bot.identity.tokens import CustomerTokens

        session.headers["Authorization"] = f"Bearer {CustomerTokens(secret).issue(sender, 120)}"
    script = LONG_SCRIPT_BARE if kind == "bare" else LONG_SCRIPT_ANXIN
    latencies = []
    for turn in range(turns):
        started = time.perf_counter()
        reply = session.post(f"{url}/webhooks/rest/webhook",
                             json={"sender": sender, "message": script[turn % len(script)]}, timeout=60)
        latencies.append((time.perf_counter() - started) * 1000)
        if reply.status_code != 200:
            figures.notes.append(f"long conversation turn {turn + 1}: HTTP {reply.status_code}")
    figures.turn10_ms = statistics.median(latencies[5:15])
    figures.turn300_ms = statistics.median(latencies[-10:])
    figures.early_ms = statistics.median(latencies[:60])
    figures.late_ms = statistics.median(latencies[-60:])


# -- the run ------------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 0) -> str:
    return "-" if value != value else f"{value:,.{digits}f}"


def _ratio(a: float, b: float) -> str:
    return "-" if a != a or b != b or not b else f"{a / b:.2f}"


def report(figures: dict[str, Figures], args: argparse.Namespace, started: str) -> str:
    lines = [f"Load benchmark — {machine_facts()}",
             f"started {started}; locust {args.users} users, no think time, warm-up {args.warmup} s, "
             f"measured {args.duration} s each; long conversation {args.long_turns} turns alone",
             "",
             f"{'':14}{'turns/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'turns':>7}{'fail':>6}{'ready s':>9}"
             f"{'turn10':>8}{'turn300':>8}{'x':>6}{'1-60':>7}{'241-300':>8}{'x':>6}  CPU % of one core"]
    for f in figures.values():
        cpu = ", ".join(f"{name} {pct:.0f}" for name, pct in f.cpu.items())
        lines.append(f"{f.name:14}{_fmt(f.turns_per_s, 1):>9}{_fmt(f.p50_ms):>9}{_fmt(f.p95_ms):>9}{f.requests:>7}"
                     f"{f.failures:>6}{_fmt(f.ready_s, 1):>9}{_fmt(f.turn10_ms):>8}{_fmt(f.turn300_ms):>8}"
                     f"{_ratio(f.turn300_ms, f.turn10_ms):>6}{_fmt(f.early_ms):>7}{_fmt(f.late_ms):>8}"
                     f"{_ratio(f.late_ms, f.early_ms):>6}  {cpu}")
        lines += [f"{'':14}{note}" for note in f.notes[:8]]
    bare, one, two = figures.get("bare"), figures.get("one"), figures.get("two")
    lines += ["", "targets (issue 15): figure -> met?"]

    def target(text: str, value: float, goal: float, higher_is_better: bool) -> None:
        if value != value:
            return
        met = value >= goal if higher_is_better else value <= goal
        lines.append(f"  {text}: {value:.2f} (target {'>=' if higher_is_better else '<='} {goal:g}) "
                     f"{'MET' if met else 'NOT MET'}")

    if bare and one:
        target("one replica throughput / bare", one.turns_per_s / bare.turns_per_s, 1.0, True)
        target("one replica p95 / bare p95", one.p95_ms / bare.p95_ms, 1.0, False)
        target("one replica ready / bare ready", one.ready_s / bare.ready_s, 1.0, False)
    if one and two:
        target("two replicas throughput / one replica", two.turns_per_s / one.turns_per_s, 1.5, True)
    if two and bare:
        target("two replicas ready / bare ready", two.ready_s / bare.ready_s, 1.0, False)
    for f in (one, bare):
        if f:
            target(f"{f.name} turn 300 / turn 10", f.turn300_ms / f.turn10_ms, 2.0, False)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=60, help="measured seconds of locust per system")
    parser.add_argument("--warmup", type=int, default=15, help="warm-up seconds of locust per system")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--long-turns", type=int, default=300)
    parser.add_argument("--only", default="bare,one,two", help="which systems: bare, one, two")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    started = f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M:%S UTC}"
    print(f"Load benchmark — {machine_facts()}", flush=True)
    figures: dict[str, Figures] = {}
    systems = {"bare": ("bare rasa init", "bare", lambda: BareBot(PORTS["bare"])),
               "one": ("anxin 1 replica", "anxin", OneReplica),
               "two": ("anxin 2 replicas", "anxin", TwoReplicas)}
    for key in chosen:
        title, kind, make = systems[key]
        figures[key] = f = Figures(title)
        target = make()
        print(f"  {title}: starting...", flush=True)
        try:
            target.start()
            f.ready_s = target.started_in
            if key == "one":
                f.notes.append(f"Rasa server ready {target.rasa_ready_in:.1f} s, "
                               f"action server {target.started_in:.1f} s")
            print(f"  {title}: ready in {f.ready_s:.1f} s; locust...", flush=True)
            measure_load(target, kind, f, args.users, args.warmup, args.duration)
            print(f"  {title}: {f.turns_per_s:.1f} turns/s, p50 {f.p50_ms:.0f} ms, p95 {f.p95_ms:.0f} ms, "
                  f"{f.failures} failures", flush=True)
            if key in ("bare", "one") and args.long_turns:
                long_conversation(target.url, kind, getattr(target, "secret", ""), args.long_turns, f)
                print(f"  {title}: turn 10 {f.turn10_ms:.0f} ms, turn {args.long_turns} {f.turn300_ms:.0f} ms",
                      flush=True)
        except Exception as error:  # noqa: BLE001 - reported in the table, the next system still runs
            f.notes.append(f"error: {type(error).__name__}: {str(error)[:300]}")
            print(f"  {title}: {type(error).__name__}: {error}", flush=True)
        finally:
            target.stop()
    text = report(figures, args, started)
    print("\n" + text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"load-{dt.datetime.now():%Y%m%d-%H%M%S}.txt"
    path.write_text(text + "\n", encoding="utf-8")
    print(f"\nwritten to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
