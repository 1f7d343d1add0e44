"""Service-to-service trust, piece by piece: the call signature (bot/service_auth.py), the action
server's JSON depth bound and its check of a call against the stored conversation
(bot/conversation_check.py) on SQLite and PostgreSQL. The attacks through the real servers are
in tests/e2e/security/test_v13_api_action_server.py."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import text

from bot import conversation_check, db, service_auth, settings
from bot.action_server import MAX_JSON_DEPTH, nested_deeper_than

SECRET = b"0123456789abcdef0123456789abcdef"
BODY = b'{"next_action": "action_check_balance"}'


def headers_of(signed: dict):
    return lambda name: signed.get(name)


def test_a_signed_call_passes_and_every_change_is_refused():
    signed = service_auth.sign(SECRET, "POST", "/webhook", BODY)
    assert service_auth.refusal(SECRET, headers_of(signed), "POST", "/webhook", BODY) is None
    assert service_auth.refusal(SECRET, headers_of(signed), "POST", "/webhook", BODY + b" ") == "bad_signature"
    assert service_auth.refusal(SECRET, headers_of(signed), "GET", "/actions", BODY) == "bad_signature"
    assert service_auth.refusal(b"x" * 32, headers_of(signed), "POST", "/webhook", BODY) == "bad_signature"
    assert service_auth.refusal(SECRET, headers_of({}), "POST", "/webhook", BODY) == "unsigned"


def test_the_timestamp_must_be_a_recent_number():
    old = service_auth.sign(SECRET, "POST", "/webhook", BODY, now=time.time() - service_auth.WINDOW_SECONDS - 5)
    assert service_auth.refusal(SECRET, headers_of(old), "POST", "/webhook", BODY) == "stale_timestamp"
    ahead = service_auth.sign(SECRET, "POST", "/webhook", BODY, now=time.time() + service_auth.WINDOW_SECONDS + 5)
    assert service_auth.refusal(SECRET, headers_of(ahead), "POST", "/webhook", BODY) == "stale_timestamp"
    odd = {**service_auth.sign(SECRET, "POST", "/webhook", BODY), service_auth.TIMESTAMP_HEADER: "-1e9"}
    assert service_auth.refusal(SECRET, headers_of(odd), "POST", "/webhook", BODY) == "bad_timestamp"


@pytest.mark.parametrize("value", ["", "short-secret"])
def test_no_secret_or_a_short_one_refuses_to_start(monkeypatch, value):
    monkeypatch.setenv("ANXIN_ACTION_SECRET", value)
    with pytest.raises(RuntimeError, match="ANXIN_ACTION_SECRET"):
        settings.action_secret()
    monkeypatch.setenv("ANXIN_ACTION_SECRET", SECRET.decode())
    assert settings.action_secret() == SECRET


def test_nesting_depth_is_read_from_the_brackets_outside_strings():
    assert not nested_deeper_than(b'{"a": [1, {"b": 2}]}', 3)
    assert nested_deeper_than(b'{"a": [1, {"b": 2}]}', 2)
    assert not nested_deeper_than(b'{"a": "[[[[[[{{{{\\"[[[["}', 1)  # brackets inside strings do not count
    assert not nested_deeper_than(b'[' * MAX_JSON_DEPTH + b']' * MAX_JSON_DEPTH, MAX_JSON_DEPTH)
    assert nested_deeper_than(b'[' * 100_000 + b']' * 100_000, MAX_JSON_DEPTH)
    assert nested_deeper_than(b'{"a": ' * 65 + b'1' + b'}' * 65, MAX_JSON_DEPTH)


# --------------------------------------------------------------------------- the stored conversation

EVENTS = """CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255)
NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"""


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_db(request, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'tracker.db'}" if request.param == "sqlite" else request.getfixturevalue(
        "pg_database")
    monkeypatch.setenv("ANXIN_TRACKER_DB_URL", url)
    with db.engine(url).begin() as connection:
        connection.execute(text(EVENTS.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY")
                                if request.param == "postgresql" else EVENTS))
    return url


def store_events(url: str, sender: str, events: list[dict]) -> None:
    """As Rasa's SQL tracker store writes them (action_name is the event's "name": a slot's name)."""
    with db.engine(url).begin() as connection:
        for event in events:
            connection.execute(text("INSERT INTO events (sender_id, type_name, timestamp, action_name, data) "
                                    "VALUES (:s, :t, :ts, :a, :d)"),
                               {"s": sender, "t": event["event"], "ts": event["timestamp"], "a": event.get("name"),
                                "d": json.dumps(event)})


PENDING = {"payee": "张三", "amount": "300", "key": "a" * 32}


def stored_turn(now: float) -> list[dict]:
    return [{"event": "user", "timestamp": now - 9.123456, "text": "确认"},
            {"event": "slot", "timestamp": now - 8.5, "name": "pending_transfer", "value": PENDING},
            {"event": "action", "timestamp": now - 8.012345, "name": "action_listen"}]


def call(events: list[dict], pending: dict | None = PENDING) -> dict:
    return {"sender_id": "c1", "slots": {"pending_transfer": pending}, "events": events}


def test_a_call_that_continues_the_stored_conversation_passes(tracker_db):
    now = time.time()
    store_events(tracker_db, "c1", stored_turn(now))
    found = conversation_check.stored("c1", money=True)
    assert found.pending == PENDING and found.latest["timestamp"] == now - 8.012345
    current = stored_turn(now) + [{"event": "user", "timestamp": now, "text": "确认"}]
    assert conversation_check.mismatch("action_execute_transfer", call(current), found) is None
    assert conversation_check.mismatch("action_execute_transfer", call(current, None), found) is None


def test_a_forged_call_or_transfer_is_a_mismatch(tracker_db):
    now = time.time()
    store_events(tracker_db, "c1", stored_turn(now))
    found = conversation_check.stored("c1", money=True)
    forged = [{"event": "action", "timestamp": now - 1, "name": "action_listen"},
              {"event": "user", "timestamp": now, "text": "确认"}]
    assert "newest event" in conversation_check.mismatch("action_check_balance", call(forged), found)
    current = stored_turn(now) + [{"event": "user", "timestamp": now, "text": "确认"}]
    other = {**PENDING, "amount": "4999"}
    assert "pending transfer" in conversation_check.mismatch("action_execute_transfer", call(current, other), found)


def test_a_reset_after_the_pending_transfer_leaves_none_pending(tracker_db):
    now = time.time()
    store_events(tracker_db, "c1", stored_turn(now) + [{"event": "restart", "timestamp": now - 5}])
    assert conversation_check.stored("c1", money=True).pending is None


def test_a_new_conversation_passes_only_as_a_first_turn(tracker_db):
    found = conversation_check.stored("nobody-yet", money=True)
    assert found == conversation_check.Stored(None, None)
    first = [{"event": "action", "timestamp": 1.0, "name": "action_session_start"},
             {"event": "user", "timestamp": 2.0, "text": "查余额"}]
    assert conversation_check.mismatch("action_check_balance", call(first, None), found) is None
    second = first + [{"event": "user", "timestamp": 3.0, "text": "转账"}]
    assert conversation_check.mismatch("action_check_balance", call(second, None), found)
    assert conversation_check.mismatch("action_execute_transfer", call(first), found)
