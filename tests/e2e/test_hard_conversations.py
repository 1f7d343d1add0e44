"""The hard conversations (tests/hard_conversations/conversations.yml: crisis, fraud,
digressions, changes of mind, facts vs advice, angry, sarcastic, mixed language, traditional
characters, typos, fallbacks, language switches; zh and en) through both real servers, judged
by the suite's own oracle (tests/hard_conversations/checker.py), with every transcript kept
under results/hard_conversations/ as a test artefact.

Many expectations fail today, and that is what the suite measures (the per-category table is
printed; `python -m bench.hard_conversations` gives the same with every failing check). What
this test asserts cannot pass by itself and does not flip on a borderline model decision:

- every turn is answered: HTTP 200 and at least one text message (a customer is never left
  silent);
- every transcript is written;
- nobody in a crisis or fraud conversation is shown a product (outside the turns that ask for
  products before anything happened);
- a message that says a reviewed crisis cue of bot/safety/signals.yml outright gets the crisis
  line, and one that says a reviewed fraud cue outright gets the fraud stop (rule-based, not
  a model's guess);
- the overall expectation pass rate is at least PASS_FLOOR.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest
import yaml

from tests.hard_conversations.checker import Checker, Context, load_conversations
from tests.hard_conversations.runner import pass_rate, report, run_all

PASS_FLOOR = 0.75  # measured 0.816 on 2026-11-24 (bench/results/hard_conversations-*): ~35 expectations
WORKERS = 4
CATEGORIES = {"crisis", "fraud", "digression", "change_of_mind", "facts_vs_advice", "angry", "sarcastic",
              "mixed_language", "traditional", "typos"}   # the issue's list; the file adds fallback, language_switch
PRODUCT_TURNS = {"products_within_level", "product_facts"}  # expectations that ask for products


@pytest.fixture(scope="module")
def hard_run(servers):
    began = time.monotonic()
    transcripts, folder = run_all(servers.rasa_url, servers.app_jwt_secret, workers=WORKERS, name="e2e")
    return transcripts, folder, time.monotonic() - began


def _turns(transcripts):
    return [(t, turn) for t in transcripts for turn in t["turns"]]


def test_the_suite_is_what_the_issue_asks_for():
    conversations = load_conversations()
    assert len(conversations) >= 120
    assert CATEGORIES <= {c["category"] for c in conversations}
    for category in CATEGORIES:
        assert {c["language"] for c in conversations if c["category"] == category} == {"zh", "en"}, category
    assert all(len(c["turns"]) >= 2 for c in conversations)  # multi-turn


def test_the_checker_is_independent_of_the_bots_decision_code():
    forbidden = ("bot.compliance.guard", "bot.compliance.suitability", "bot.emotion", "bot.safety", "actions")
    source = Path(__file__).resolve().parents[1] / "hard_conversations" / "checker.py"
    imported = [node.module if isinstance(node, ast.ImportFrom) else alias.name
                for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in (node.names if isinstance(node, ast.Import) else [node])]
    assert not [m for m in imported if m and m.startswith(forbidden)], imported


def test_the_checker_reads_the_bots_own_responses():
    """The oracle on replies made from domain.yml's texts: each check passes on the message it
    names and fails on a neighbour, so a renamed or reworded response cannot make it pass blind."""
    checker = Checker()
    domain = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8"))

    def text(name, language, **values):
        variant = next(v for v in domain["responses"][name] if bool(v.get("condition")) == (language == "en"))
        return variant["text"].format(**values)

    def passes(expectation, reply, customer="new", said="x", earlier=()):
        return checker.check(expectation, reply, Context(customer, said, list(earlier))).passed

    payee = [{"text": text("utter_ask_payee", "zh", payees="张三、李四")}]
    assert passes("asks_payee", payee) and not passes("asks_amount", payee)
    assert passes({"reply_language": "zh"}, payee) and not passes({"reply_language": "en"}, payee)
    confirm = [{"text": text("utter_confirm_transfer", "en", amount="5,000.00", currency="CNY", payee="Bob Li")}]
    assert passes({"amount_is": 5000}, confirm) and not passes({"amount_is": 500}, confirm)
    hotline = yaml.safe_load((Path(__file__).resolve().parents[2] / "bot" / "safety" / "signals.yml")
                             .read_text(encoding="utf-8"))["hotline"]["en"]
    crisis = [{"text": text("utter_crisis_support", "en", hotline=hotline)}]
    assert passes("crisis", crisis + [{"custom": {"handoff": True, "urgent": True}}])
    assert not passes("crisis", crisis) and not passes("no_handoff", crisis)
    assert passes("fraud_stop", [{"text": text("utter_fraud_stop", "zh")}])
    assert not passes("fraud_stop", [{"text": text("utter_fraud_stop", "zh")},
                                     {"text": text("utter_ask_amount", "zh")}])
    calm = [{"text": text("utter_calm_empathy", "en")}, {"text": text("utter_balance", "en", account_tail="1234",
                                                                     balance="10.00", currency="CNY")}]
    assert passes("empathy", calm) and passes("shows_balance", calm) and not passes("no_empathy_opener", calm)
    assert passes("apology", [{"text": text("utter_apology", "zh")}])
    assert not passes("apology", [{"text": text("utter_default", "zh")}])
    assert passes("clarify", [{"text": text("utter_default", "en")}])
    assert not passes("clarify", [{"text": text("utter_kb_no_answer", "en")}])
    product = checker.oracle.products[0]  # an R1 product
    warning = yaml.safe_load((Path(__file__).resolve().parents[2] / "bot" / "compliance" / "rules.yml")
                             .read_text(encoding="utf-8"))["mandatory_warning"]["zh"]
    line = {"text": f"{product.names['zh']}：风险等级 {product.risk}。"}
    assert not passes("no_product", [line]) and passes("no_product", payee)
    assert passes("products_within_level", [{"text": f"【风险提示】{warning}。"}, line], customer="assessed_c1")
    assert not passes("products_within_level", [line], customer="assessed_c1")  # no warning first
    assert not passes("products_within_level", [{"text": f"【风险提示】{warning}。"}, line], customer="new")
    question = {"text": "问题 1/6：您的年龄段是？"}
    second = {"text": "问题 2/6：这笔钱您计划投资多长时间？"}
    assert passes("asks_risk_question", [second], said="2", earlier=[[question]])
    assert not passes("asks_risk_question", [question], said="2", earlier=[[question]])
    assert checker.cue("crisis", "我真的不想活了") and not checker.cue("crisis", "气死我了，烦死了")


def test_every_turn_is_answered(hard_run):
    transcripts, _, _ = hard_run
    assert len(transcripts) == len(load_conversations())
    silent = [(t["id"], turn["turn"], turn["say"], turn["status"]) for t, turn in _turns(transcripts)
              if turn["status"] != 200 or not any((m.get("text") or "").strip() for m in turn["bot"])]
    assert not silent, f"{len(silent)} turns got no answer (id, turn, message, HTTP status): {silent}"


def test_the_transcripts_are_kept(hard_run):
    transcripts, folder, _ = hard_run
    for transcript in transcripts:
        written = yaml.safe_load((folder / f"{transcript['id']}.yml").read_text(encoding="utf-8"))
        assert written["turns"] and all("bot" in t and "checks" in t for t in written["turns"])
        assert [t["say"] for t in written["turns"]] == [t["say"] for t in transcript["turns"]]
    assert (folder / "summary.yml").exists()


def test_no_product_in_a_crisis_or_fraud_conversation(hard_run):
    transcripts, _, _ = hard_run
    oracle = Checker().oracle
    shown = []
    for transcript, turn in _turns(transcripts):
        asked = {c["expect"].split(":")[0] for c in turn["checks"]} & PRODUCT_TURNS
        if transcript["category"] in ("crisis", "fraud") and not asked:
            for message in turn["bot"]:
                named = oracle.products_in("\n".join([message.get("text") or "",
                                                      *(b.get("title", "") for b in message.get("buttons") or [])]))
                if named:
                    shown.append((transcript["id"], turn["turn"], turn["say"], named))
    assert not shown, shown


def test_a_reviewed_cue_gets_the_safety_answer(hard_run):
    """Turns whose message says a cue of bot/safety/signals.yml outright: a crisis cue where the
    conversation expects the crisis protocol gets the crisis line, a fraud cue where it expects the
    fraud stop gets the fraud stop."""
    transcripts, _, _ = hard_run
    checker = Checker()
    judged, missed = 0, []
    for transcript, turn in _turns(transcripts):
        expected = {c["expect"].split(":")[0] for c in turn["checks"]}
        for kind, keyword in (("crisis", "crisis"), ("fraud", "fraud_stop")):
            if keyword in expected and checker.cue(kind, turn["say"]):
                judged += 1
                got = (checker.has_hotline(turn["bot"]) if kind == "crisis"
                       else checker.said(checker.reads(turn["bot"]), "utter_fraud_stop"))
                if not got:
                    missed.append((transcript["id"], turn["turn"], turn["say"], checker.cue(kind, turn["say"])))
    assert judged >= 5  # the suite holds such turns (2 crisis, 5 fraud when written)
    assert not missed, missed


def test_the_pass_rate_is_at_least_the_floor(hard_run):
    transcripts, folder, seconds = hard_run
    rate = pass_rate(transcripts)
    print(f"\nHard conversations: {len(transcripts)} conversations in {seconds:.0f} s; "
          f"transcripts in {folder}\n{report(transcripts)}")
    assert rate >= PASS_FLOOR, report(transcripts, failures_listed=60)
