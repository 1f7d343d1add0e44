import contextlib
import hashlib
import hmac
import json
import os
import sqlite3
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot import settings
from bot.compliance import audit, rulebook
from bot.migrations import SchemaError

COLUMNS = ("id", "at", "customer_id", "kind", "c_level", "products", "warning_text", "emotion", "detail",
           "rules_version", "prev_hash", "hash")


def trail(count: int, customer: str = "c-t") -> None:
    for n in range(count):
        audit.record(customer, "warning", c_level="C2", detail=str(n))


@contextlib.contextmanager
def attacker():
    """Someone with rights on the database: drops the append-only triggers, then does as they like."""
    with sqlite3.connect(settings.audit_db_url().removeprefix("sqlite:///")) as connection:
        connection.execute("DROP TRIGGER IF EXISTS audit_no_update")
        connection.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        yield connection


def findings(report: audit.Report) -> list[tuple[str, int | None, int | None]]:
    return sorted(((f.kind, f.id, f.line) for f in report.findings), key=lambda t: (t[0], t[1] or 0, t[2] or 0))


def forged_hash(prev_hash: str, row: dict, key: bytes | None) -> str:
    """What an attacker can compute: the old plain SHA-256 chain, or an HMAC under a guessed key."""
    if key is None:
        return hashlib.sha256((prev_hash + json.dumps(row, sort_keys=True)).encode()).hexdigest()
    payload = json.dumps({"prev_hash": prev_hash, **row}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def forged_row(connection, row_id: int, prev_hash: str, key: bytes | None) -> None:
    row = {"id": row_id, "at": "2030-01-01T09:00:00", "customer_id": "c-x", "kind": "suggestion", "c_level": "C5",
           "products": '[{"id": "AX-PE-01", "risk": "R5"}]', "warning_text": "理财非存款、产品有风险、投资须谨慎",
           "emotion": "calm", "detail": None, "rules_version": rulebook.current().version}
    values = {**row, "at": "2030-01-01 09:00:00.000000", "prev_hash": prev_hash,
              "hash": forged_hash(prev_hash, row, key)}
    connection.execute(f"INSERT INTO audit_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                       [values[c] for c in COLUMNS])


def stored_hash(connection, row_id: int) -> str:
    return connection.execute("SELECT hash FROM audit_events WHERE id = ?", (row_id,)).fetchone()[0]


def test_records_are_appended_and_read_back_masked():
    audit.record("c-1", "suggestion", c_level="C3", products=[{"id": "AX-BF-01", "risk": "R2"}],
                 warning_text="理财非存款、产品有风险、投资须谨慎", emotion="calm",
                 detail="customer phone 13812345678")
    [entry] = audit.history("c-1")
    assert (entry.kind, entry.c_level, entry.products, entry.emotion) == (
        "suggestion", "C3", [{"id": "AX-BF-01", "risk": "R2"}], "calm")
    assert "13812345678" not in entry.detail and "138****5678" in entry.detail


def test_database_refuses_update_and_delete():
    audit.record("c-2", "handoff")
    path = settings.audit_db_url().removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            connection.execute("UPDATE audit_events SET kind = 'x'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            connection.execute("DELETE FROM audit_events")


def test_untouched_trail_verifies_and_every_record_is_anchored():
    trail(4)
    report = audit.verify()
    assert report.ok and (report.checked, report.anchors, report.anchored) == (4, 4, 4)
    lines = settings.audit_anchors_path().read_text().splitlines()
    assert [json.loads(line)["count"] for line in lines] == [1, 2, 3, 4]


def test_hash_chain_verifies_under_concurrent_writers():
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda n: audit.record(f"c-{n % 3}", "warning", c_level="C2"), range(60)))
    report = audit.verify()
    assert report.ok, report.findings
    assert (report.checked, report.anchors, report.anchored) == (60, 60, 60)


def test_hash_chain_verifies_when_two_processes_append_at_once():
    """The Rasa server and the action server append to the same trail from two processes (and
    race to make the demo key: the first one wins, every process uses it)."""
    script = ("from concurrent.futures import ThreadPoolExecutor\n"
              "from bot.compliance import audit\n"
              "with ThreadPoolExecutor(4) as pool:\n"
              "    list(pool.map(lambda n: audit.record('p', 'handoff'), range(40)))\n")
    writers = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(3)]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0]
    report = audit.verify()
    assert report.ok, report.findings
    assert (report.checked, report.anchored) == (120, 120)


@pytest.mark.parametrize("recompute", [False, True], ids=["field edited", "field edited, plain SHA-256 redone"])
def test_an_edited_record_is_caught(recompute):
    trail(3)
    with attacker() as connection:
        connection.execute("UPDATE audit_events SET c_level = 'C5' WHERE id = 2")
        if recompute:  # the old unkeyed chain could be recomputed like this and pass
            prev = connection.execute("SELECT prev_hash FROM audit_events WHERE id = 2").fetchone()[0]
            connection.execute("UPDATE audit_events SET hash = ? WHERE id = 2", (forged_hash(prev, {}, None),))
    report = audit.verify()
    assert not report.ok and report.broken[0] == 2
    if recompute:  # the next record no longer links to it, and the anchor of id 2 names another hash
        assert findings(report) == [("anchor_mismatch", 2, 2), ("chain_break", 3, None), ("hash_mismatch", 2, None)]
    else:
        assert findings(report) == [("hash_mismatch", 2, None)]
    assert "hash mismatch at id 2" in "; ".join(f.message for f in report.findings)


def test_the_rules_version_is_part_of_the_keyed_hash():
    trail(2)
    with attacker() as connection:
        connection.execute("UPDATE audit_events SET rules_version = 'v0-lenient' WHERE id = 1")
    assert findings(audit.verify()) == [("hash_mismatch", 1, None)]


@pytest.mark.parametrize("key", [None, b"guessed-audit-key-000"], ids=["plain SHA-256", "guessed key"])
def test_a_forged_record_appended_after_the_newest_is_caught(key):
    trail(3)
    with sqlite3.connect(settings.audit_db_url().removeprefix("sqlite:///")) as connection:  # INSERT is allowed
        forged_row(connection, 4, stored_hash(connection, 3), key)
    audit.record("c-t", "handoff")  # the bot carries on appending after the forged record
    report = audit.verify()
    assert findings(report) == [("hash_mismatch", 4, None)]
    assert report.checked == 5


def test_a_forged_record_inserted_in_the_middle_is_caught():
    trail(3)
    with attacker() as connection:  # make room at id 2 and relink the old id 2 to the forged record
        for row_id in (3, 2):
            connection.execute("UPDATE audit_events SET id = id + 1 WHERE id = ?", (row_id,))
        first = stored_hash(connection, 1)
        connection.execute("UPDATE audit_events SET prev_hash = 'relinked' WHERE id = 3")
        forged_row(connection, 2, first, b"guessed-audit-key-000")
        connection.execute("UPDATE audit_events SET prev_hash = ? WHERE id = 3", (stored_hash(connection, 2),))
    report = audit.verify()
    assert findings(report) == [("anchor_mismatch", 2, 2), ("anchor_mismatch", 3, 3),
                                ("hash_mismatch", 2, None), ("hash_mismatch", 3, None), ("hash_mismatch", 4, None)]


def test_a_deleted_record_in_the_middle_is_caught():
    trail(4)
    with attacker() as connection:
        connection.execute("DELETE FROM audit_events WHERE id = 2")
    report = audit.verify()
    assert findings(report) == [("anchor_mismatch", 2, 2), ("chain_break", 3, None), ("id_gap", 3, None)]
    messages = "; ".join(f.message for f in report.findings)
    assert "id 2 missing before id 3" in messages and "chain break at id 3" in messages


def test_deleting_the_newest_records_is_caught_by_the_anchors():
    trail(5)
    with attacker() as connection:  # the chain that is left is perfectly consistent
        connection.execute("DELETE FROM audit_events WHERE id > 3")
    report = audit.verify()
    assert findings(report) == [("truncated", None, 5)]
    assert "counts 5 records up to id 5, the trail holds 3" in report.findings[0].message


def test_anchors_every_n_records_and_on_demand(monkeypatch):
    monkeypatch.setenv("ANXIN_AUDIT_ANCHOR_EVERY", "3")
    trail(7)
    lines = [json.loads(line) for line in settings.audit_anchors_path().read_text().splitlines()]
    assert [line["count"] for line in lines] == [3, 6]
    assert audit.verify().ok
    audit.anchor()  # e.g. at the end of the day: the newest record is anchored too
    with attacker() as connection:
        connection.execute("DELETE FROM audit_events WHERE id = 7")
    assert findings(audit.verify()) == [("truncated", None, 3)]


def test_a_table_replaced_by_a_consistent_chain_under_another_key_is_caught(monkeypatch, tmp_path):
    trail(3)
    real_anchors = settings.audit_anchors_path()
    other_db, other_anchors = tmp_path / "other.db", tmp_path / "other.jsonl"
    with monkeypatch.context() as other:  # the attacker's own trail, made by the real code with their key
        other.setenv("ANXIN_AUDIT_KEY", "the-attackers-own-key-0123")
        other.setenv("ANXIN_AUDIT_DB_URL", f"sqlite:///{other_db}")
        other.setenv("ANXIN_AUDIT_ANCHORS", str(other_anchors))
        trail(3, customer="c-rewritten")
        assert audit.verify().ok
    with attacker() as connection:
        connection.execute("ATTACH DATABASE ? AS other", (str(other_db),))
        connection.execute("DELETE FROM audit_events")
        connection.execute("INSERT INTO audit_events SELECT * FROM other.audit_events")
    report = audit.verify()
    assert findings(report) == [("anchor_mismatch", i, i) for i in (1, 2, 3)] + [("other_key", None, None)]
    real_anchors.write_bytes(other_anchors.read_bytes())  # and the anchors replaced as well
    assert sorted(f.kind for f in audit.verify().findings) == ["anchor_forged", "other_key"]


def test_a_trail_checked_with_another_key_fails(monkeypatch):
    trail(3)
    assert audit.verify().ok
    monkeypatch.setenv("ANXIN_AUDIT_KEY", "not-the-key-it-was-written-with")
    report = audit.verify()
    assert sorted(f.kind for f in report.findings) == ["anchor_forged", "other_key"]
    assert "another key" in report.findings[-1].message


def test_forged_anchor_lines_are_caught():
    trail(3)
    path = settings.audit_anchors_path()
    last = json.loads(path.read_text().splitlines()[-1])
    raised = {**last, "count": 9, "last_id": 9}  # claims more records than were written, old signature
    body = {k: v for k, v in raised.items() if k != "sig"}
    guessed = {**body, "sig": hmac.new(b"guessed-audit-key-000", json.dumps(body, sort_keys=True).encode(),
                                       hashlib.sha256).hexdigest()}
    with path.open("a") as handle:
        handle.write(json.dumps(raised) + "\n" + json.dumps(guessed) + "\n" + "not json\n")
    report = audit.verify()
    assert findings(report) == [("anchor_forged", None, 4), ("anchor_forged", None, 5), ("anchor_forged", None, 6)]
    assert "bad signature" in report.findings[0].message


def test_a_removed_anchor_file_is_caught():
    trail(2)
    settings.audit_anchors_path().unlink()
    assert [f.kind for f in audit.verify().findings] == ["no_anchor"]


def test_records_carry_the_rules_version_in_force(monkeypatch, tmp_path):
    audit.record("c-r", "warning")
    assert rulebook.current().version == "1"  # rules.yml states its version
    rules = tmp_path / "rules.yml"
    source = Path(rulebook.DEFAULT_RULES).read_text(encoding="utf-8")
    rules.write_text("\n".join(line for line in source.splitlines() if not line.startswith("version:")),
                     encoding="utf-8")
    monkeypatch.setenv("ANXIN_COMPLIANCE_RULES", str(rules))
    audit.record("c-r", "warning")
    first_hash = hashlib.sha256(rules.read_bytes()).hexdigest()[:12]
    rules.write_text(rules.read_text(encoding="utf-8") + "\n# an officer's edit\n", encoding="utf-8")
    os.utime(rules, ns=(rules.stat().st_mtime_ns + 10**9,) * 2)
    audit.record("c-r", "warning")
    second_hash = hashlib.sha256(rules.read_bytes()).hexdigest()[:12]
    assert [e.rules_version for e in audit.history("c-r")] == ["1", first_hash, second_hash]
    assert first_hash != second_hash and audit.verify().ok


def test_production_without_a_key_refuses_to_write_or_verify(monkeypatch, isolated_state):
    monkeypatch.setenv("ANXIN_DEMO_MODE", "0")
    monkeypatch.delenv("ANXIN_AUDIT_KEY", raising=False)
    for attempt in (lambda: audit.record("c-p", "handoff"), audit.verify, audit.anchor):
        with pytest.raises(RuntimeError, match="ANXIN_AUDIT_KEY is not set"):
            attempt()
    assert not (isolated_state / "audit.key").exists()
    monkeypatch.setenv("ANXIN_AUDIT_KEY", "a-bank-key-from-the-vault-0001")
    audit.record("c-p", "handoff")
    assert audit.verify().ok and [e.kind for e in audit.history("c-p")] == ["handoff"]  # nothing else got in
    assert not (isolated_state / "audit.key").exists()
    monkeypatch.setenv("ANXIN_AUDIT_KEY", "short")
    with pytest.raises(RuntimeError, match="too short"):
        audit.record("c-p", "handoff")


def test_demo_mode_makes_one_private_key_file_and_reuses_it(isolated_state):
    audit.record("c-k", "handoff")
    key_file = isolated_state / "audit.key"
    key = key_file.read_bytes()
    assert len(key) == 32 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    audit.record("c-k", "handoff")
    assert key_file.read_bytes() == key and audit.verify().ok


def test_an_old_compliance_database_is_refused_not_altered(isolated_state):
    isolated_state.mkdir(parents=True, exist_ok=True)
    path = isolated_state / "compliance.db"
    old = ("CREATE TABLE audit_events (id INTEGER PRIMARY KEY, at DATETIME NOT NULL, customer_id VARCHAR(128) "
           "NOT NULL, kind VARCHAR(32) NOT NULL, c_level VARCHAR(4), products TEXT NOT NULL, warning_text TEXT, "
           "emotion VARCHAR(32), detail TEXT, prev_hash VARCHAR(64) NOT NULL UNIQUE, hash VARCHAR(64) NOT NULL)")
    with sqlite3.connect(path) as connection:
        connection.execute(old)
    with pytest.raises(SchemaError, match="audit_events .* lacks rules_version") as refused:
        audit.record("c-o", "handoff")
    assert str(path) in str(refused.value) and "Remove the file" in str(refused.value)
    with pytest.raises(SchemaError):
        audit.verify()
    with sqlite3.connect(path) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(audit_events)")]
    assert "rules_version" not in columns


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        audit.record("c", "sale")
