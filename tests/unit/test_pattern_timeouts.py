"""Rule patterns run with a time bound, are probed before they are accepted, and a rules file
(or a console draft) nested too deep or too large is refused before it is parsed (red team,
2026-12-06: patterns that got past the static check, and nested YAML)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import yaml

from bot import metrics
from bot.compliance import guard, pattern_safety, rulebook
from bot.console import drafts

RULES = Path(rulebook.__file__).with_name("rules.yml")
BYPASSES = [r"\d+.?\d+.?\d+.?\d+x", r"\d+.?\d+x", r"\d+\s?\d+\s?\d+%"]
LIVE_PATTERNS = [p for items in yaml.safe_load(RULES.read_text(encoding="utf-8"))["forbidden_patterns"].values()
                 for p in items]


def with_pattern(pattern: str) -> dict:
    raw = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    raw["forbidden_patterns"]["prediction"].append(pattern)
    return raw


def timeouts() -> float:
    return metrics.RULE_PATTERN_TIMEOUTS._value.get()


# -- bounded matching -----------------------------------------------------------------------------


def test_a_search_gives_up_after_its_time_out():
    compiled = pattern_safety.compile_rule(BYPASSES[0])
    began = time.monotonic()
    with pytest.raises(pattern_safety.PatternTimeout) as raised:
        pattern_safety.search(compiled, "x" + "1" * 5000 + "!x")
    assert time.monotonic() - began < 1.5
    assert raised.value.pattern == BYPASSES[0]


def test_a_search_finds_what_re_finds():
    compiled = pattern_safety.compile_rule(r"(will|is going to)\s+(rise|fall)")
    assert pattern_safety.search(compiled, "it WILL  rise").group(0) == "WILL  rise"
    assert pattern_safety.search(compiled, "it may rise") is None


def test_a_pattern_that_runs_out_of_time_counts_as_a_hit_and_is_logged_and_counted(caplog):
    rules = rulebook.parse(with_pattern(BYPASSES[0]))  # parse does not validate: as if it had got through
    before = timeouts()
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="bot.compliance.rulebook"):
        found = rules.wording_in("x" + "1" * 2000 + "!x")
    assert time.monotonic() - began < 3
    assert ("prediction", f"(no verdict: the pattern {BYPASSES[0]} ran out of time)") in found
    assert timeouts() > before
    assert any(getattr(r, "event", None) == "rule_pattern_timeout" for r in caplog.records)
    # the guard holds such a message rather than sending it unchecked
    violations = guard.check_message("x" + "1" * 2000 + "!x", rules=rules)
    assert any(v.rule == "prediction" and "ran out of time" in v.evidence for v in violations)


def test_all_patterns_as_one_match_exactly_when_one_of_them_does():
    compiled = [pattern_safety.compile_rule(p) for p in LIVE_PATTERNS]
    screen = pattern_safety.screen(compiled)
    assert screen is not None
    texts = ["年化收益率 5%", "5% annual return", "it will definitely rise", "保证会涨", "预期年化", "hello",
             "we promise you", "收益率约3", "nothing here", "1.5 % 的 年化 回报", "你好，今天天气不错"]
    for text in texts:
        assert (screen.search(text) is not None) == any(c.search(text) for c in compiled), text
    # a pattern that sets a flag for the whole pattern cannot be merged with the others
    assert pattern_safety.screen([pattern_safety.compile_rule("(?x) a b"), compiled[0]]) is None


def test_the_live_rules_find_the_same_wording_as_before():
    rules, problems = rulebook.load(RULES.read_bytes())
    assert problems == [] and rules.screen is not None
    found = rules.wording_in("保证会涨，5%年化收益, and it will definitely rise")
    assert {category for category, _ in found} == {"prediction", "stated_yield"}
    assert rules.wording_in("您好，请问有什么可以帮您？") == []


# -- the probe ------------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", BYPASSES)
def test_patterns_the_static_check_lets_through_are_refused_by_the_probe(pattern):
    assert pattern_safety.problem(pattern) is None  # the static check alone misses them
    began = time.monotonic()
    why = pattern_safety.probe(pattern_safety.compile_rule(pattern))
    assert why is not None and "ms" in why
    assert time.monotonic() - began < 3


@pytest.mark.parametrize("pattern", LIVE_PATTERNS)
def test_the_live_patterns_pass_the_probe(pattern):
    assert pattern_safety.probe(pattern_safety.compile_rule(pattern)) is None


def test_a_rules_file_with_such_a_pattern_is_refused_naming_it():
    source = yaml.safe_dump(with_pattern(BYPASSES[0]), allow_unicode=True).encode()
    rules, problems = rulebook.load(source)
    assert rules is None
    assert any(BYPASSES[0] in p and "took longer than" in p for p in problems), problems


def test_the_probes_of_a_file_stop_at_their_budget(monkeypatch):
    monkeypatch.setattr(pattern_safety, "PROBE_BUDGET", 0.0)
    source = RULES.read_bytes()
    rules, problems = rulebook.load(source)
    assert rules is None and any("too slow" in p for p in problems), problems


# -- size and nesting of the YAML ------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "a: " + "[" * 1_100 + "]" * 1_100,
    "a: " + "{b: " * 5_000 + "}" * 5_000,
    "- " * 20_000 + "x",
    "a:\n" + "".join("  " * level + "b:\n" for level in range(1, 40)),
])
def test_yaml_nested_too_deep_is_refused_quickly(source):
    began = time.monotonic()
    rules, problems = rulebook.load(source.encode())
    assert rules is None and problems and "nested more than" in problems[0], problems
    assert time.monotonic() - began < 1
    with pytest.raises(drafts.DraftError, match="nested more than"):
        drafts.validate(source)


def test_brackets_inside_quoted_text_are_not_nesting():
    raw = with_pattern(r"[\[(]?\d+[\])]?\s*倍必涨")
    raw["blocked_reply"]["en"] = "Sorry: " + "[" * 40 + " that reply was not sent."
    rules, problems = rulebook.load(yaml.safe_dump(raw, allow_unicode=True).encode())
    assert problems == [] and rules is not None


def test_a_rules_file_over_the_size_bound_is_refused():
    source = RULES.read_bytes() + b"\n# padding " + b"x" * rulebook.MAX_RULES_BYTES
    rules, problems = rulebook.load(source)
    assert rules is None and "at most 64 KiB" in problems[0]
    with pytest.raises(drafts.DraftError, match="at most 64 KiB"):
        drafts.validate(source.decode())
