import json
import sqlite3

from bot import settings
from bot.compliance import audit, audit_cli


def test_history_prints_every_record_of_the_customer(capsys):
    audit.record("cli-1", "warning", c_level="C3", products=[{"id": "AX-BF-01", "risk": "R2"}],
                 warning_text="理财非存款、产品有风险、投资须谨慎", emotion="calm")
    audit.record("cli-1", "suggestion", c_level="C3", products=[{"id": "AX-BF-01", "risk": "R2"}])
    audit.record("cli-2", "handoff")
    assert audit_cli.main(["history", "cli-1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "warning" in lines[0] and "AX-BF-01(R2)" in lines[1] and "level=C3" in lines[1]
    assert all("rules=1" in line for line in lines)


def test_verify_reports_an_intact_chain(capsys):
    audit.record("cli-3", "handoff")
    audit.record("cli-3", "handoff")
    assert audit_cli.main(["verify"]) == 0
    out = capsys.readouterr().out
    assert "2 records checked against 2 anchors" in out and "chain intact" in out


def test_verify_exits_non_zero_and_names_the_edited_record(capsys):
    for n in range(3):
        audit.record("cli-4", "warning", detail=str(n))
    with sqlite3.connect(settings.audit_db_url().removeprefix("sqlite:///")) as connection:
        connection.execute("DROP TRIGGER audit_no_update")
        connection.execute("UPDATE audit_events SET detail = 'nothing to see' WHERE id = 2")
    assert audit_cli.main(["verify"]) == 1
    out = capsys.readouterr().out
    assert "hash_mismatch: hash mismatch at id 2" in out and "TAMPERING: 1 findings" in out


def test_anchor_on_demand_then_truncation_is_reported(capsys, monkeypatch):
    monkeypatch.setenv("ANXIN_AUDIT_ANCHOR_EVERY", "100")
    for _ in range(3):
        audit.record("cli-5", "handoff")
    assert not settings.audit_anchors_path().read_text()  # 3 < 100: no anchor yet
    assert audit_cli.main(["anchor"]) == 0
    assert "anchored 3 records" in capsys.readouterr().out
    [line] = [json.loads(text) for text in settings.audit_anchors_path().read_text().splitlines()]
    assert (line["count"], line["last_id"], line["rules_version"]) == (3, 3, "1")
    with sqlite3.connect(settings.audit_db_url().removeprefix("sqlite:///")) as connection:
        connection.execute("DROP TRIGGER audit_no_delete")
        connection.execute("DELETE FROM audit_events WHERE id = 3")
    assert audit_cli.main(["verify"]) == 1
    assert "truncated: the anchor at line 1" in capsys.readouterr().out


def test_verify_without_a_key_in_production_says_why(capsys, monkeypatch):
    audit.record("cli-6", "handoff")
    monkeypatch.setenv("ANXIN_DEMO_MODE", "0")
    monkeypatch.delenv("ANXIN_AUDIT_KEY", raising=False)
    assert audit_cli.main(["verify"]) == 2
    assert "ANXIN_AUDIT_KEY is not set" in capsys.readouterr().err
