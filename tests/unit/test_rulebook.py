"""A rules-file edit that does not validate is refused: the last good rules stay in force, and the
refusal is logged and audited once, under the rules version kept in force."""

import hashlib
import json
import logging
import os

import pytest

from bot import logs
from bot.compliance import audit, guard, rulebook

SOURCE = rulebook.DEFAULT_RULES.read_text(encoding="utf-8")
# The good edit an officer made: a new forbidden phrase, and a version of its own.
GOOD = SOURCE.replace("version: 1", "version: 7").replace("  guarantees:\n", "  guarantees:\n    - 稳稳的幸福\n", 1)


@pytest.fixture
def rules_file(tmp_path, monkeypatch):
    path = tmp_path / "rules.yml"
    monkeypatch.setenv("ANXIN_COMPLIANCE_RULES", str(path))
    write(path, GOOD)
    assert rulebook.current().version == "7"
    return path


def write(path, text):
    """Save, and move the modification time on, as a later save would."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 10**9, before + 10**9))


def refusals():
    return [e for e in audit.history(rulebook.AUDIT_SUBJECT) if e.kind == "rules_refused"]


BAD_EDITS = {
    "bad YAML": GOOD.replace("mandatory_warning:\n", "mandatory_warning: [\n", 1),
    "an unknown field": GOOD.replace("forbidden_phrases:", "forbiden_phrases:", 1),
    "a missing warning": GOOD.replace(
        '  en: "Wealth products are not deposits; they carry risk; invest with care."\n', ""),
    "an empty warning": GOOD.replace("  zh: 理财非存款、产品有风险、投资须谨慎\n", "  zh: ''\n", 1),
    "an empty forbidden list": GOOD.split("  superlatives:")[0] + "  superlatives: []\n  urgency_and_fear:"
    + GOOD.split("  urgency_and_fear:")[1],
    "a dropped category": GOOD.replace("  prediction:\n", "  forecasts:\n", 1),
    "a pattern that does not compile": GOOD.replace("    - 预期收益率\n", "    - '预期(收益率'\n", 1),
    "a pattern that matches every text": GOOD.replace("    - 预期收益率\n", "    - '.*'\n", 1),
    "a blocked reply with forbidden wording": GOOD.replace("没有发送。", "没有发送。本服务零风险。", 1),
    "a phrase that is not text": GOOD.replace("    - 保本\n", "    - 300\n", 1),
    "an empty file": "",
}


@pytest.mark.parametrize("edit", BAD_EDITS)
def test_an_edit_that_does_not_validate_is_refused_and_the_last_good_rules_stay(rules_file, edit, caplog):
    write(rules_file, BAD_EDITS[edit])
    with caplog.at_level(logging.ERROR, logger="bot.compliance.rulebook"):
        assert rulebook.current().version == "7"
    assert "guarantees" in {v.rule for v in guard.check_message("稳稳的幸福")}  # the good edit still applies
    refused_hash = hashlib.sha256(rules_file.read_bytes()).hexdigest()[:12]
    refusal = rulebook.last_refusal()
    assert refusal.content_hash == refused_hash and refusal.in_force == "7" and refusal.problems
    [logged] = [r for r in caplog.records if getattr(r, "event", None) == "rules_refused"]
    assert logged.refused_content_hash == refused_hash and logged.rules_version_in_force == "7"
    [record] = refusals()
    assert record.rules_version == "7" and refused_hash in record.detail


def test_the_problems_say_what_is_wrong():
    assert rulebook.problems(None) == [
        "the file does not hold a mapping of rules (empty, or not YAML of the expected shape)"]
    import yaml
    raw = yaml.safe_load(BAD_EDITS["an unknown field"])
    found = rulebook.problems(raw)
    assert any("unknown field 'forbiden_phrases'" in p for p in found)
    assert "forbidden_phrases: must map each category to a list" in found
    assert rulebook.problems(yaml.safe_load(GOOD)) == []
    assert rulebook.problems(yaml.safe_load(SOURCE)) == []  # the shipped rules validate


def test_a_refusal_is_reported_once_then_a_fix_takes_effect(rules_file, caplog):
    write(rules_file, BAD_EDITS["an unknown field"])
    for _ in range(3):
        assert rulebook.current().version == "7"
    write(rules_file, BAD_EDITS["an unknown field"])  # saved again, same content: no new refusal
    assert rulebook.current().version == "7" and len(refusals()) == 1
    write(rules_file, BAD_EDITS["bad YAML"])  # another bad edit: refused in its turn
    assert rulebook.current().version == "7" and len(refusals()) == 2
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.compliance.rulebook"):
        write(rules_file, GOOD.replace("version: 7", "version: 8"))
        assert rulebook.current().version == "8"
    assert rulebook.last_refusal() is None
    assert [getattr(r, "event", None) for r in caplog.records] == ["rules_reloaded"]


def test_a_removed_rules_file_is_refused_too(rules_file):
    rules_file.unlink()
    assert rulebook.current().version == "7"
    assert "cannot be read" in rulebook.last_refusal().problems[0] and len(refusals()) == 1


def test_with_no_good_rules_at_all_nothing_is_in_force(tmp_path, monkeypatch):
    path = tmp_path / "never-good.yml"
    path.write_text(BAD_EDITS["a missing warning"], encoding="utf-8")
    monkeypatch.setenv("ANXIN_COMPLIANCE_RULES", str(path))
    with pytest.raises(rulebook.RulesRefused, match="mandatory_warning.en: missing or empty"):
        rulebook.current()
    with pytest.raises(rulebook.RulesRefused):
        guard.check_message("hello")  # the guard refuses to judge rather than pass everything
    assert refusals() == []  # no rules version to record it under: the server does not start instead


def test_the_refusal_is_one_json_log_line(rules_file, capsys):
    handler = logs.configure("test", "json")
    try:
        write(rules_file, BAD_EDITS["an empty forbidden list"])
        rulebook.current()
        handler.flush()
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [line] = [line for line in lines if line.get("event") == "rules_refused"]
    assert line["level"] == "ERROR" and line["rules_version_in_force"] == "7"
    assert line["problems"] == "forbidden_phrases.superlatives: an empty list (a forbidden list must name something)"


def test_every_audit_record_carries_the_rules_version_in_force(rules_file):
    """Records written while a bad edit is refused carry the version kept in force, not the
    refused file's."""
    audit.record("c-v", "warning")
    write(rules_file, BAD_EDITS["bad YAML"].replace("version: 7", "version: 99"))
    audit.record("c-v", "warning")
    write(rules_file, GOOD.replace("version: 7", "version: 8"))
    audit.record("c-v", "warning")
    assert [e.rules_version for e in audit.history("c-v")] == ["7", "7", "8"]
    assert [e.rules_version for e in refusals()] == ["7"]
    assert audit.verify().ok
