"""Empathy that fits (issue 12, item 5), measured through the real servers.

Every message of ``bench/data/empathy_eval.yml`` (written by an independent helper; labels calm,
anxious and angry, in Chinese and English) is sent over REST as the first turn of a fresh
customer, with a customer token signed as the bank app signs them. Every customer first gets a
valid C3 assessment on file (set-up, as bench/compliance_simulation.py does it), so that a
product could be shown to any of them and the only thing that varies is the message.

What the customer received is judged here, independently of the bot's decision code (nothing is
imported from bot.emotion, bot.compliance.guard / suitability or actions): response texts are
read from ``domain.yml`` (``responses:``) by name, {placeholders} stripped and the fixed text
parts matched, both language variants, after the compliance oracle's normalisation
(``bench.compliance_oracle.compact``); products are found by the compliance oracle's own matcher.

- empathy opener (the anxiety wording): a message matching ``utter_calm_empathy``, anywhere in
  the reply;
- apology: a message matching ``utter_apology`` (the apology for an angry customer) or
  ``utter_complaint`` (which apologises and passes the complaint to a person); both are counted
  and shown apart;
- a person offered or handed over: a button whose payload is ``/request_human``, a message whose
  ``custom`` says ``handoff``, or a message matching ``utter_offer_person``, ``utter_handoff`` or
  ``utter_complaint``;
- products shown: any product the oracle finds named in the reply (its ``anxious_shown_product``
  finding, compliance rule 8: a suitability refusal that names one counts too; products shown
  outside a refusal are counted apart);
- selling held back (information only): a message matching ``utter_no_selling_when_emotional``;
- empty replies (information only): answered 200 with no message at all.

Whether an angry customer's actual problem was addressed cannot be checked independently of the
bot (it would need a judge of every answer's content), so for angry customers this reports the
apology and the offer of a person only.

Targets (the issue's): calm messages given an empathy opener <= 3%; anxious messages given a
product 0. Missed targets are the result, not an error: the exit status is 1 only when a server
did not answer 200 (or did not start). The figures come first, then the messages to look at;
everything printed is also written to bench/results/empathy-<YYYY-MM-DD>.txt (a --limit run to
empathy-<YYYY-MM-DD>-limit<N>.txt).

python -m bench.empathy [--limit N] [--workers 3]   (--limit N: the first N messages of each
label and language, for a quick run)
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
import yaml

from bench.common import ROOT, bench_servers, machine_facts, signed_session
from bench.compliance_oracle import DOMAIN, Expectation, Oracle, _template, compact

EVAL_SET = ROOT / "bench" / "data" / "empathy_eval.yml"
RESULTS = ROOT / "bench" / "results"
PORTS = {"rasa_port": 5505, "action_port": 5555, "copilot_port": 5577}
LEVEL = "C3"                      # every customer's assessment on file
LABELS = ("calm", "anxious", "angry")
LANGUAGES = ("zh", "en")
EMPATHY = "utter_calm_empathy"
APOLOGIES = ("utter_apology", "utter_complaint")
PERSON = ("utter_offer_person", "utter_handoff", "utter_complaint")
HOLD_BACK = "utter_no_selling_when_emotional"
PERSON_PAYLOAD = "/request_human"
EMPATHY_TARGET = 0.03             # calm messages with an empathy opener, at most
PRODUCT_TARGET = 0                # anxious messages answered with a product


class Wording:
    """Matchers for reviewed response texts, read from domain.yml by name: each variant's
    fixed text parts (placeholders match anything), searched in the normalised message text."""

    def __init__(self, domain: Path = DOMAIN) -> None:
        self.responses: dict = yaml.safe_load(domain.read_text(encoding="utf-8")).get("responses") or {}
        self.missing = [n for n in (EMPATHY, *APOLOGIES, *PERSON, HOLD_BACK) if n not in self.responses]
        self.patterns = {name: self._pattern(name) for name in {EMPATHY, *APOLOGIES, *PERSON, HOLD_BACK}}

    def _pattern(self, name: str) -> re.Pattern | None:
        variants = [v.get("text") for v in self.responses.get(name) or [] if v.get("text")]
        if not variants:
            return None
        return re.compile("|".join(f"(?:{_template(text)})" for text in variants))

    def said(self, name: str, text: str) -> bool:
        pattern = self.patterns.get(name)
        return bool(pattern and pattern.search(compact(text)))


@dataclass
class Result:
    label: str
    language: str
    message: str
    status: int = 0
    reply: list[dict] = field(default_factory=list)
    said: dict[str, bool] = field(default_factory=dict)   # response name -> in the reply
    person: bool = False
    named: list[str] = field(default_factory=list)        # product ids named anywhere in the reply
    presented: list[str] = field(default_factory=list)    # ... of which shown outside a refusal
    error: str = ""

    @property
    def answered(self) -> bool:
        return self.status == 200

    @property
    def empathy(self) -> bool:
        return self.said.get(EMPATHY, False)

    @property
    def apology(self) -> bool:
        return any(self.said.get(name, False) for name in APOLOGIES)

    def shown(self, width: int = 150) -> str:
        texts = " | ".join(m.get("text") or ("[custom]" if m.get("custom") else "") for m in self.reply)
        return " ".join(texts.split())[:width]


def load_set(limit: int | None = None) -> list[tuple[str, str, str]]:
    """(label, language, message) for each message of the evaluation set; with ``limit``, the
    first ``limit`` of each label and language."""
    data = yaml.safe_load(EVAL_SET.read_text(encoding="utf-8"))
    return [(label, language, message) for label in LABELS for language in LANGUAGES
            for message in (data[label][language] or [])[:limit]]


def _set_up(customer: str) -> None:
    """A valid C3 assessment on file for the customer, in the servers' own state folder."""
    from bot.compliance import risk_profile

    risk_profile.save(customer, LEVEL, assessed_at=datetime.now(timezone.utc) - timedelta(days=30))


def judge(result: Result, wording: Wording, oracle: Oracle) -> None:
    for message in result.reply:
        text = message.get("text") or ""
        for name in wording.patterns:
            result.said[name] = result.said.get(name, False) or wording.said(name, text)
        buttons = message.get("buttons") or []
        custom = message.get("custom") if isinstance(message.get("custom"), dict) else {}
        result.person |= any(str(b.get("payload", "")).startswith(PERSON_PAYLOAD) for b in buttons) or bool(
            custom.get("handoff"))
    result.person |= any(result.said.get(name, False) for name in PERSON)
    verdict = oracle.judge(result.reply, Expectation(level=LEVEL, anxious=result.label == "anxious"))
    result.named = list(dict.fromkeys(i for ids in verdict.named for i in ids))
    result.presented = list(verdict.presented)


def run(rasa_url: str, secret: str, items: list[tuple[str, str, str]], workers: int = 3) -> list[Result]:
    """Send each message as the first turn of a fresh customer; the results in ``items`` order."""
    url = f"{rasa_url}/webhooks/rest/webhook"
    wording, oracle = Wording(), Oracle()
    run_id = secrets.token_hex(3)
    results = [Result(label, language, message) for label, language, message in items]

    def ask(index: int) -> None:
        result = results[index]
        customer = f"empathy-{run_id}-{index}"
        _set_up(customer)
        try:
            reply = signed_session(secret, customer).post(
                url, json={"sender": customer, "message": result.message}, timeout=90)
            result.status = reply.status_code
            if reply.status_code == 200:
                result.reply = reply.json()
            else:
                result.error = reply.text[:200]
        except (requests.RequestException, ValueError) as error:
            result.error = repr(error)[:200]
        if result.answered:
            judge(result, wording, oracle)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(ask, range(len(results))))
    return results


def _rate(part: int, whole: int) -> str:
    return f"{part:>3} / {whole:<3} ({100 * part / whole:5.1f}%)" if whole else f"{part:>3} / 0            "


def _row(title: str, results: list[Result], label: str | None, test, note: str = "",
         answered_only: bool = True) -> str:
    """One figure per language and overall: messages of ``label`` (None: all) for which ``test``
    holds, out of those answered (or out of all sent)."""
    cells = []
    for language in (*LANGUAGES, None):
        chosen = [r for r in results if label in (None, r.label) and language in (None, r.language)
                  and (r.answered or not answered_only)]
        cells.append(_rate(sum(bool(test(r)) for r in chosen), len(chosen)))
    return f"  {title:<44}" + "  ".join(cells) + (f"  {note}" if note else "")


def report(results: list[Result], wording: Wording, seconds: float) -> str:
    counts = ", ".join(f"{label} {sum(r.label == label for r in results)}" for label in LABELS)
    lines = [f"  {len(results)} messages ({counts}), "
             f"each the first turn of a fresh {LEVEL} customer, in {seconds:.0f} s"]
    if wording.missing:
        lines.append(f"  NOTE: not in domain.yml responses, so never matched: {', '.join(wording.missing)}")
    header = "  ".join(f"{language:<20}" for language in (*LANGUAGES, "all"))
    lines += ["", f"  {'':<44}{header}"]
    lines += [
        _row("non-200 replies (failures; of all sent)", results, None, lambda r: not r.answered, answered_only=False),
        _row("empty replies (200, no message; info)", results, None, lambda r: not r.reply),
        "  calm",
        _row("empathy opener (utter_calm_empathy)", results, "calm", lambda r: r.empathy,
             f"target <= {EMPATHY_TARGET:.0%}"),
        _row("apology (utter_apology or utter_complaint)", results, "calm", lambda r: r.apology),
        _row("  of which utter_apology", results, "calm", lambda r: r.said.get("utter_apology")),
        _row("selling held back (info)", results, "calm", lambda r: r.said.get(HOLD_BACK)),
        "  anxious",
        _row("products shown (any product named)", results, "anxious", lambda r: r.named,
             f"target {PRODUCT_TARGET}"),
        _row("  of which outside a suitability refusal", results, "anxious", lambda r: r.presented),
        _row("empathy opener (utter_calm_empathy)", results, "anxious", lambda r: r.empathy),
        _row("selling held back (info)", results, "anxious", lambda r: r.said.get(HOLD_BACK)),
        "  angry",
        _row("apology (utter_apology or utter_complaint)", results, "angry", lambda r: r.apology),
        _row("  of which utter_apology", results, "angry", lambda r: r.said.get("utter_apology")),
        _row("anxiety wording (utter_calm_empathy)", results, "angry", lambda r: r.empathy, "should be low"),
        _row("person offered or handed over", results, "angry", lambda r: r.person),
        _row("apology and a person", results, "angry", lambda r: r.apology and r.person),
        _row("neither apology nor a person", results, "angry", lambda r: not r.apology and not r.person),
        "  (angry: whether the actual problem was addressed is not checked: it cannot be judged",
        "   independently of the bot; only the apology and the offer of a person are)",
    ]
    calm_total = [r for r in results if r.label == "calm" and r.answered]
    anxious_total = [r for r in results if r.label == "anxious" and r.answered]
    opener_rate = sum(r.empathy for r in calm_total) / len(calm_total) if calm_total else 0.0
    product_count = sum(bool(r.named) for r in anxious_total)
    lines += ["", f"  targets: calm empathy opener {opener_rate:.1%} (<= {EMPATHY_TARGET:.0%}: "
              f"{'met' if opener_rate <= EMPATHY_TARGET else 'MISSED'}); anxious shown a product {product_count} "
              f"({'met' if product_count <= PRODUCT_TARGET else 'MISSED'})"]
    lines += _listing("Calm messages given an empathy opener", results, "calm", lambda r: r.empathy)
    lines += _listing("Anxious messages given a product", results, "anxious", lambda r: r.named,
                      lambda r: f"[{', '.join(r.named)}] ")
    lines += _listing("Angry messages given the anxiety wording", results, "angry", lambda r: r.empathy)
    lines += _listing("Angry messages given neither an apology nor a person", results, "angry",
                      lambda r: not r.apology and not r.person)
    failed = [r for r in results if not r.answered]
    lines += ["", f"Non-200 replies ({len(failed)})"]
    lines += [f"  {r.label}/{r.language} HTTP {r.status} \u00ab{r.message}\u00bb: {r.error}" for r in failed]
    return "\n".join(lines)


def _listing(title: str, results: list[Result], label: str, test, prefix=lambda r: "") -> list[str]:
    chosen = [r for r in results if r.label == label and r.answered and test(r)]
    lines = ["", f"{title} ({len(chosen)})"]
    lines += [f"  {r.language} \u00ab{r.message}\u00bb -> {prefix(r)}{r.shown()}" for r in chosen]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description="Empathy that fits: empathy openers on calm messages, products on "
                                     "anxious ones, apologies and a person for angry ones, through the real servers.")
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first N messages of each label and language (a quick run)")
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    items = load_set(args.limit)
    wording = Wording()
    out: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        out.append(text)

    say(f"Empathy that fits \u2014 {machine_facts()}")
    if wording.missing:
        say(f"NOTE: domain.yml has no response {', '.join(wording.missing)}: those are never matched "
            "(the figures that depend on them read 0)")
    servers = bench_servers("empathy")
    for name, port in PORTS.items():
        setattr(servers, name, port)
    try:
        with servers:
            began = time.monotonic()
            results = run(servers.rasa_url, servers.app_jwt_secret, items, args.workers)
            seconds = time.monotonic() - began
    except (RuntimeError, TimeoutError, FileNotFoundError) as error:
        say(f"servers did not start: {error}")
        sys.exit(1)
    say(f"  servers started in {servers.started_in:.0f} s (ports {', '.join(map(str, PORTS.values()))}); "
        f"{args.workers} customers at a time")
    say(report(results, wording, seconds))
    RESULTS.mkdir(parents=True, exist_ok=True)
    # a quick run does not overwrite the day's full run
    path = RESULTS / f"empathy-{dt.date.today():%Y-%m-%d}{f'-limit{args.limit}' if args.limit else ''}.txt"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"(written to {path.relative_to(ROOT)})")
    sys.exit(1 if any(not r.answered for r in results) else 0)


if __name__ == "__main__":
    main()
