"""One customer's data: exported whole, erased whole, nobody else's touched, the audit kept."""

import json
import sqlite3

from bot import handoff, privacy, settings
from bot.compliance import audit
from bot.copilot import store as copilot_store
from bot.identity import bindings


def _tracker(state, rows):
    path = state / "tracker.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT,"
                           " timestamp REAL, intent_name TEXT, action_name TEXT, data TEXT)")
        connection.executemany("INSERT INTO events (sender_id, type_name, data) VALUES (?, 'user', ?)",
                               [(sender, json.dumps({"event": "user", "text": text})) for sender, text in rows])
    return path


def test_export_then_erase_one_customer(isolated_state):
    bindings.bind("oCUSTOMER1", "C1")
    bindings.bind("oOTHER0001", "C2")
    path = _tracker(settings.state_dir(), [("C1", "查余额"), ("oCUSTOMER1", "wechat 你好"), ("copilot:call-9", "推荐"),
                                           ("C2", "someone else")])
    copilot_store.add_turn("call-9", "推荐", "product_inquiry", "calm", 0.1, "demo-agent", "C1")
    copilot_store.add_turn("call-8", "别人", "greet", "calm", 0.1, "demo-agent", "C2")
    handoff.record("C1", {"reason": "asked"})
    audit.record("C1", "assessment", c_level="C3")

    document = privacy.export("C1")
    assert set(document["conversations"]) == {"C1", "oCUSTOMER1", "copilot:call-9"}
    assert [b["open_id"] for b in document["wechat_bindings"]] == ["oCUSTOMER1"]
    assert len(document["handoffs"]) == 1 and document["copilot"][0]["call_id"] == "call-9"
    assert [r["kind"] for r in document["audit_records_kept"]] == ["assessment"]

    counts = privacy.erase("C1")
    assert counts == {"conversation_events": 3, "wechat_bindings": 1, "handoffs": 1, "copilot_records": 1}
    with sqlite3.connect(path) as connection:
        assert [r[0] for r in connection.execute("SELECT sender_id FROM events")] == ["C2"]
    assert bindings.customer_for("oOTHER0001") == "C2" and copilot_store.calls_about("C2") == ["call-8"]
    assert privacy.export("C1")["conversations"] == {}
    assert [e.kind for e in audit.history("C1")] == ["assessment"]  # kept, as the law requires
    [erasure] = [e for e in audit.history(privacy.masked_id("C1")) if e.kind == "erasure"]
    assert json.loads(erasure.detail)["conversation_events"] == 3


def test_the_command_writes_the_export_to_a_file(tmp_path):
    out = tmp_path / "export.json"
    privacy.main(["export", "C404", "--out", str(out)])
    assert json.loads(out.read_text(encoding="utf-8"))["customer_id"] == "C404"


def test_handoffs_of_a_customer_whose_id_masks_like_anothers_are_exported_and_erased_alone(isolated_state):
    """demo-13800000003 and demo-13899990003 are both stored as demo-138****0003: each one's
    export and erasure take their own handoffs by exact reference, never the other's."""
    mine, other = "demo-13800000003", "demo-13899990003"
    assert handoff.mask(mine) == handoff.mask(other)
    handoff.record(mine, {"reason": "mine"})
    handoff.record(other, {"reason": "other"})
    assert [h["reason"] for h in privacy.export(mine)["handoffs"]] == ["mine"]
    assert privacy.erase(mine)["handoffs"] == 1
    assert [h["reason"] for h in privacy.export(other)["handoffs"]] == ["other"]
