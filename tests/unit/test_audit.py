import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot import settings
from bot.compliance import audit


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


def test_hash_chain_verifies_under_concurrent_writers():
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda n: audit.record(f"c-{n % 3}", "warning", c_level="C2"), range(60)))
    checked, broken = audit.verify()
    assert checked == 60 and broken == []


def test_hash_chain_verifies_when_two_processes_append_at_once():
    """The Rasa server and the action server append to the same trail from two processes."""
    script = ("from concurrent.futures import ThreadPoolExecutor\n"
              "from bot.compliance import audit\n"
              "with ThreadPoolExecutor(4) as pool:\n"
              "    list(pool.map(lambda n: audit.record('p', 'handoff'), range(40)))\n")
    writers = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(3)]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0]
    checked, broken = audit.verify()
    assert checked == 120 and broken == []


def test_verify_detects_tampering():
    for n in range(3):
        audit.record("c-t", "warning", c_level="C2", detail=str(n))
    path = settings.audit_db_url().removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:  # an attacker drops the trigger and edits a record
        connection.execute("DROP TRIGGER audit_no_update")
        connection.execute("UPDATE audit_events SET c_level = 'C5' WHERE id = 2")
    assert audit.verify() == (3, [2])


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        audit.record("c", "sale")
