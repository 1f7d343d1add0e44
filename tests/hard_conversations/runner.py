"""Run the hard conversations (conversations.yml) through the REST channel of running servers
and judge every turn with the suite's own oracle (checker.py).

Each conversation gets a fresh customer id ("hard-<id>-<8 hex>"), so no two runs or
conversations share an account, a dialogue or a risk profile. Its risk state is put on file
before the first turn, the way bench/compliance_simulation.py does it: written with
bot.compliance.risk_profile into the servers' own state folder (ANXIN_STATE_DIR, shared with
this process). That is set-up, not measurement: the checker never asks the bot's code anything.
The customer speaks with a token signed as the bank app's backend signs them
(bench.common.signed_session).

Each conversation's transcript (every turn: what was said, the HTTP status, the bot's messages
as returned, each expectation with pass/fail and the reason) is written as YAML under
results/hard_conversations/<run>/ (git-ignored: these are test artefacts), with summary.yml
beside them.

Used by tests/e2e/test_hard_conversations.py and bench/hard_conversations.py.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import yaml

from bench.common import signed_session
from tests.hard_conversations.checker import Check, Checker, Context, customer_level, label, load_conversations

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results" / "hard_conversations"
TIMEOUT_S = 60
ASSESSED_DAYS_AGO = 5      # a valid assessment on file
EXPIRED_DAYS_AGO = 400     # older than the questionnaire's 365 days of validity
EXPIRED_LEVEL = "C3"       # the level of an expired assessment (not in force)


def set_up(customer_id: str, state: str) -> None:
    """Put the conversation's customer state on file (conversations.yml header):
    new: nothing; assessed_cN: CN assessed 5 days ago; expired: C3 assessed 400 days ago;
    senior: C3, 65+, assessed 5 days ago."""
    if state == "new":
        return
    from bot.compliance import risk_profile

    now = dt.datetime.now(dt.timezone.utc)
    if state == "expired":
        risk_profile.save(customer_id, EXPIRED_LEVEL, assessed_at=now - dt.timedelta(days=EXPIRED_DAYS_AGO))
        return
    level, senior = customer_level(state)
    risk_profile.save(customer_id, level, senior=senior, assessed_at=now - dt.timedelta(days=ASSESSED_DAYS_AGO))


def run_conversation(conversation: dict, rasa_url: str, secret: str, checker: Checker) -> dict:
    """One conversation, turn by turn; returns its transcript (a plain dict, as written)."""
    customer = f"hard-{conversation['id']}-{uuid.uuid4().hex[:8]}"
    set_up(customer, conversation["customer"])
    session = signed_session(secret, customer)
    url = f"{rasa_url}/webhooks/rest/webhook"
    earlier: list[list[dict]] = []
    turns = []
    began = time.monotonic()
    for number, turn in enumerate(conversation["turns"], 1):
        started = time.monotonic()
        try:
            answer = session.post(url, json={"message": turn["say"]}, timeout=TIMEOUT_S)
            status, body = answer.status_code, answer.text
        except requests.RequestException as error:
            status, body = 0, repr(error)
        reply = []
        if status == 200:
            try:
                reply = answer.json()
            except ValueError:
                status = -1  # 200 with a body that is not JSON
        seconds = time.monotonic() - started
        expectations = turn.get("expect") or []
        if status == 200 and isinstance(reply, list):
            checks = checker.check_turn(expectations, reply, Context(conversation["customer"], turn["say"],
                                                                     list(earlier)))
        else:
            reply = []
            checks = [Check(label(e), False, f"HTTP {status}: {body[:200]}") for e in expectations]
        turns.append({
            "turn": number, "say": turn["say"], "status": status, "seconds": round(seconds, 3),
            "bot": [{k: v for k, v in m.items() if k != "recipient_id"} for m in reply],
            "checks": [{"expect": c.expect, "passed": c.passed, "reason": c.reason} for c in checks],
        })
        earlier.append(reply)
    return {"id": conversation["id"], "category": conversation["category"], "language": conversation["language"],
            "customer": conversation["customer"], "customer_id": customer,
            "seconds": round(time.monotonic() - began, 2), "turns": turns}


def write(transcript: dict, folder: Path) -> Path:
    path = folder / f"{transcript['id']}.yml"
    path.write_text(yaml.safe_dump(transcript, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
    return path


def run_all(rasa_url: str, secret: str, conversations: list[dict] | None = None, workers: int = 4,
            name: str = "run", results: Path = RESULTS) -> tuple[list[dict], Path]:
    """Run every conversation (``workers`` at a time) and write the transcripts and summary.yml to
    results/hard_conversations/<name>-<UTC time>/. Returns (transcripts in file order, folder)."""
    conversations = conversations if conversations is not None else load_conversations()
    checker = Checker()
    folder = results / f"{name}-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}"
    folder.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    done: dict[str, dict] = {}

    def one(conversation: dict) -> None:
        transcript = run_conversation(conversation, rasa_url, secret, checker)
        write(transcript, folder)
        with lock:
            done[conversation["id"]] = transcript

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(one, c) for c in conversations]:
            future.result()
    transcripts = [done[c["id"]] for c in conversations]
    (folder / "summary.yml").write_text(yaml.safe_dump(summarise(transcripts), allow_unicode=True, sort_keys=False),
                                        encoding="utf-8")
    return transcripts, folder


def summarise(transcripts: list[dict]) -> dict:
    """Per category and overall: conversations, conversations with every expectation met,
    expectations met / checked, and the failing expectations counted by keyword."""
    categories: dict[str, dict] = defaultdict(lambda: {"conversations": 0, "conversations_passed": 0,
                                                       "expectations": 0, "passed": 0, "failing": Counter()})
    for transcript in transcripts:
        checks = [c for turn in transcript["turns"] for c in turn["checks"]]
        for key in (transcript["category"], "ALL"):
            row = categories[key]
            row["conversations"] += 1
            row["conversations_passed"] += all(c["passed"] for c in checks)
            row["expectations"] += len(checks)
            row["passed"] += sum(c["passed"] for c in checks)
            row["failing"].update(c["expect"].split(":")[0] for c in checks if not c["passed"])
    ordered = [k for k in dict.fromkeys(t["category"] for t in transcripts)] + ["ALL"]
    return {key: {**{k: v for k, v in categories[key].items() if k != "failing"},
                  "pass_rate": round(categories[key]["passed"] / categories[key]["expectations"], 4)
                  if categories[key]["expectations"] else 0.0,
                  "failing": dict(categories[key]["failing"].most_common())} for key in ordered}


def pass_rate(transcripts: list[dict]) -> float:
    """Expectations met / expectations checked, over every turn of every conversation."""
    return summarise(transcripts)["ALL"]["pass_rate"]


def report(transcripts: list[dict], failures_listed: int = 0) -> str:
    """The per-category table (expectation pass rate, conversations fully passed) and the failing
    expectations per category, counted; optionally the first failing checks, with reasons."""
    summary = summarise(transcripts)
    lines = [f"  {'category':<16} {'expectations met':>22} {'conversations all met':>24}"]
    for key, row in summary.items():
        if key == "ALL":
            lines.append("  " + "-" * 64)
        lines.append(f"  {key:<16} {row['passed']:>5} / {row['expectations']:<5} {100 * row['pass_rate']:5.1f}%"
                     f" {row['conversations_passed']:>9} / {row['conversations']:<5}"
                     f" {100 * row['conversations_passed'] / row['conversations']:5.1f}%")
    lines.append("  failing expectations per category (keyword: count):")
    for key, row in summary.items():
        if row["failing"]:
            lines.append(f"    {key:<16} " + ", ".join(f"{k} {n}" for k, n in row["failing"].items()))
    if failures_listed:
        lines.append("  failing checks:")
        failing = [(t["id"], turn["turn"], turn["say"], c) for t in transcripts for turn in t["turns"]
                   for c in turn["checks"] if not c["passed"]]
        for conversation, number, said, check in failing[:failures_listed]:
            lines.append(f"    {conversation} turn {number} \u00ab{said}\u00bb {check['expect']}: {check['reason']}")
        if len(failing) > failures_listed:
            lines.append(f"    ... and {len(failing) - failures_listed} more (see the transcripts)")
    return "\n".join(lines)
