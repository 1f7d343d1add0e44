"""An edit of the live rules file that does not validate is refused by the running servers: the
last good rules stay in force, /health/ready says which version and what was refused, and the
refusal is logged and audited."""

import hashlib
import json
import os
from pathlib import Path

import requests
import yaml

from bot.compliance import audit, rulebook
from tests.e2e.conftest import said


def save(path: Path, text: str) -> None:
    """As an editor saves: the new content replaces the file at once (no half-written reads)."""
    draft = path.with_suffix(".saving")
    draft.write_text(text, encoding="utf-8")
    os.replace(draft, path)


def ready(base_url: str) -> dict:
    return requests.get(f"{base_url}/health/ready", timeout=10).json()


def rasa_log_lines() -> list[dict]:
    path = Path(os.environ["ANXIN_STATE_DIR"]) / "logs" / "rasa.log"
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_a_rules_edit_that_does_not_validate_is_refused_and_the_last_good_rules_stay(servers, chat):
    rules_file = Path(os.environ["ANXIN_COMPLIANCE_RULES"])
    original = rules_file.read_text(encoding="utf-8")
    shipped = yaml.safe_load(original)
    blocked = shipped["blocked_reply"]["zh"]
    # The officer's good edit: 演示号码 (in the card-loss reply) becomes forbidden wording.
    good = original.replace(f"version: {shipped['version']}", "version: e2e-good").replace(
        "  guarantees:\n", "  guarantees:\n    - 演示号码\n", 1)
    # Then an edit with a typo in a field name: it must not take effect.
    bad = good.replace("version: e2e-good", "version: e2e-bad").replace("forbidden_patterns:", "forbiden_patterns:", 1)
    refused = hashlib.sha256(bad.encode("utf-8")).hexdigest()[:12]
    urls = {"actions": servers.action_url, "copilot": servers.copilot_url}
    try:
        save(rules_file, good)
        assert chat.texts("我的银行卡丢了") == [blocked]
        assert ready(servers.rasa_url)["compliance_guard"]["rules_version"] == "e2e-good"
        assert {name: ready(url)["rules_version"] for name, url in urls.items()} == {
            "actions": "e2e-good", "copilot": "e2e-good"}

        save(rules_file, bad)
        assert chat.texts("我的银行卡丢了") == [blocked]  # the good edit is still in force
        health = ready(servers.rasa_url)
        assert health["status"] == "ready" and health["compliance_guard"]["rules_version"] == "e2e-good"
        assert health["compliance_guard"]["rules_refused"]["content_hash"] == refused
        assert {name: ready(url)["rules_version"] for name, url in urls.items()} == {
            "actions": "e2e-good", "copilot": "e2e-good"}

        records = [e for e in audit.history(rulebook.AUDIT_SUBJECT) if refused in (e.detail or "")]
        assert records and all(e.kind == "rules_refused" and e.rules_version == "e2e-good" for e in records)
        assert "forbiden_patterns" in records[0].detail
        logged = [line for line in rasa_log_lines()
                  if line.get("event") == "rules_refused" and line.get("refused_content_hash") == refused]
        assert len(logged) == 1 and logged[0]["rules_version_in_force"] == "e2e-good"  # once, not per message
    finally:
        save(rules_file, original)
    assert said(chat.texts("我的银行卡丢了"), "utter_card_lost", "zh")
    guard = ready(servers.rasa_url)["compliance_guard"]
    assert guard["rules_version"] == str(shipped["version"]) and guard["rules_refused"] is None
