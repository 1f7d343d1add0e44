"""Tracker and lock stores are chosen by URL from the environment."""

from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext.stores import EnvLockStore, UrlSQLTrackerStore


def test_tracker_store_defaults_to_sqlite_in_the_state_folder(isolated_state):
    store = UrlSQLTrackerStore(domain=Domain.empty())
    assert store.engine.url.drivername == "sqlite"
    assert store.engine.url.database == str(isolated_state / "tracker.db")


def test_tracker_store_persists_conversations(tmp_path, monkeypatch):
    monkeypatch.setenv("ANXIN_TRACKER_DB_URL", f"sqlite:///{tmp_path / 'conv.db'}")
    import asyncio

    store = UrlSQLTrackerStore(domain=Domain.empty())
    tracker = DialogueStateTracker.from_events("customer-1", [UserUttered("查余额")])
    asyncio.run(store.save(tracker))
    reopened = UrlSQLTrackerStore(domain=Domain.empty())
    loaded = asyncio.run(reopened.retrieve("customer-1"))
    assert loaded.latest_message.text == "查余额"


def test_sqlite_connections_are_kept_between_turns_in_wal_mode(tmp_path, monkeypatch):
    """One SQLite connection serves turn after turn (SQLAlchemy 1.4 would open the file for
    every session), with the write-ahead log the other processes rely on."""
    import asyncio

    monkeypatch.setenv("ANXIN_TRACKER_DB_URL", f"sqlite:///{tmp_path / 'kept.db'}")
    from sqlalchemy import event

    store = UrlSQLTrackerStore(domain=Domain.empty())
    opened = []
    event.listen(store.engine, "connect", lambda connection, _record: opened.append(connection))
    tracker = DialogueStateTracker("customer-k", [])
    for turn in range(3):
        tracker.update(UserUttered(f"第{turn}句"))
        asyncio.run(store.save(tracker))
        asyncio.run(store.retrieve("customer-k"))
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert len(opened) == 1
    assert asyncio.run(store.retrieve("customer-k")).latest_message.text == "第2句"


def test_an_in_memory_tracker_store_keeps_rasa_s_engine_and_its_tables():
    """``sqlite://`` (one connection, the tables Rasa made on it): replacing or disposing that
    engine would lose them."""
    import asyncio

    store = UrlSQLTrackerStore(domain=Domain.empty(), url="sqlite://")
    tracker = DialogueStateTracker("customer-m", [])
    tracker.update(UserUttered("查余额"))
    asyncio.run(store.save(tracker))
    assert asyncio.run(store.retrieve("customer-m")).latest_message.text == "查余额"


def test_the_project_s_sqlite_files_keep_their_connections_under_sqlalchemy_1_4(tmp_path):
    """bot.db, which the tracker store's SQLite file uses too: a pool, not a file opened for
    every session (1.4's NullPool), with the write-ahead log."""
    from sqlalchemy.pool import QueuePool

    from bot import db

    engine = db.new_engine(f"sqlite:///{tmp_path / 'project.db'}")
    assert isinstance(engine.pool, QueuePool)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def test_lock_store_is_in_memory_without_redis():
    assert isinstance(EnvLockStore(), InMemoryLockStore)


def test_lock_store_uses_redis_url_when_set(monkeypatch):
    monkeypatch.setenv("ANXIN_REDIS_URL", "redis://:secret@cache.internal:6380/2")
    store = EnvLockStore()
    assert isinstance(store, RedisLockStore)
    kwargs = store.red.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == ("cache.internal", 6380, 2, "secret")


def test_personal_numbers_are_masked_in_what_the_tracker_store_keeps(tmp_path, monkeypatch):
    import asyncio
    import sqlite3

    from rasa.shared.core.events import BotUttered, SlotSet

    monkeypatch.setenv("ANXIN_TRACKER_DB_URL", f"sqlite:///{tmp_path / 'conv.db'}")
    said = "我的身份证110101199003071234，手机13812345678，卡号6222 0200 0000 1234 567 查余额"
    pending = {"payee": "张三", "amount": "100.00", "key": "12345678901234567890123456789012"}
    events = [UserUttered(said, parse_data={"text": said, "intent": {"name": "check_balance"},
                                            "entities": [{"entity": "phone", "value": "13812345678"}]}),
              SlotSet("payee", "13812345678"), SlotSet("pending_transfer", pending),
              BotUttered("您的手机 13812345678 已登记")]
    store = UrlSQLTrackerStore(domain=Domain.empty())
    asyncio.run(store.save(DialogueStateTracker.from_events("customer-2", events)))
    raw = " ".join(row[0] for row in sqlite3.connect(tmp_path / "conv.db").execute("SELECT data FROM events"))
    for number in ("110101199003071234", "13812345678", "6222 0200 0000 1234 567"):
        assert number not in raw
    assert "**************1234" in raw and "138****5678" in raw
    assert pending["key"] in raw  # structured slot values (the idempotency key) are kept as they are
    loaded = asyncio.run(UrlSQLTrackerStore(domain=Domain.empty()).retrieve("customer-2"))
    assert loaded.latest_message.text.startswith("我的身份证**************1234")


# -- the tracker cache: a turn reads only new rows, and gets what Rasa's own store would give --

def _rasa_reference(db_path):
    """Rasa's own SQL tracker store on the same file: the oracle for what a retrieve must give."""
    from rasa.core.tracker_store import SQLTrackerStore

    return SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db_path))


def _turn(tracker, n):
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet

    said = {"text": f"第{n}句", "intent": {"name": "greet", "confidence": 0.9}, "entities": []}
    for event in (UserUttered(said["text"], parse_data=said),
                  SlotSet("language", "zh"), ActionExecuted("utter_greet"), BotUttered(f"回答{n}"),
                  ActionExecuted("action_listen")):
        tracker.update(event)


def _dialogue(tracker):
    return None if tracker is None else [e.as_dict() for e in tracker.events]


def test_cached_retrieve_gives_what_rasa_reads_while_two_replicas_take_turns(tmp_path, monkeypatch):
    import asyncio

    db_path = tmp_path / "conv.db"
    monkeypatch.setenv("ANXIN_TRACKER_DB_URL", f"sqlite:///{db_path}")
    replica_a, replica_b = UrlSQLTrackerStore(domain=Domain.empty()), UrlSQLTrackerStore(domain=Domain.empty())
    reference = _rasa_reference(db_path)
    asyncio.run(replica_a.save(DialogueStateTracker.from_events("c1", [UserUttered("你好")])))
    for n in range(12):  # turns alternate between the replicas, as behind the load balancer
        store = (replica_a, replica_b)[n % 2]
        tracker = asyncio.run(store.retrieve("c1"))
        assert _dialogue(tracker) == _dialogue(asyncio.run(reference.retrieve("c1")))
        _turn(tracker, n)
        asyncio.run(store.save(tracker))
    for store in (replica_a, replica_b):
        assert _dialogue(asyncio.run(store.retrieve("c1"))) == _dialogue(asyncio.run(reference.retrieve("c1")))
        assert store.event_cache.incremental_reads >= 6  # it did read only new rows


def test_cached_retrieve_sees_a_conversation_erased_and_a_new_session(tmp_path, monkeypatch):
    import asyncio
    import sqlite3

    from rasa.shared.core.events import ActionExecuted, SessionStarted

    db_path = tmp_path / "conv.db"
    monkeypatch.setenv("ANXIN_TRACKER_DB_URL", f"sqlite:///{db_path}")
    store, reference = UrlSQLTrackerStore(domain=Domain.empty()), _rasa_reference(db_path)
    tracker = DialogueStateTracker.from_events("c2", [UserUttered("你好")])
    _turn(tracker, 1)
    asyncio.run(store.save(tracker))
    assert len(asyncio.run(store.retrieve("c2")).events) == 6
    with sqlite3.connect(db_path) as connection:  # what bot/privacy.py's erase does
        connection.execute("DELETE FROM events WHERE sender_id = 'c2'")
    assert asyncio.run(store.retrieve("c2")) is None
    tracker = DialogueStateTracker.from_events("c2", [UserUttered("重新开始")])
    asyncio.run(store.save(tracker))
    assert _dialogue(asyncio.run(store.retrieve("c2"))) == _dialogue(asyncio.run(reference.retrieve("c2")))
    tracker = asyncio.run(store.retrieve("c2"))
    for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
                  UserUttered("新的一天")):
        tracker.update(event)
    asyncio.run(store.save(tracker))
    again = asyncio.run(store.retrieve("c2"))
    assert _dialogue(again) == _dialogue(asyncio.run(reference.retrieve("c2")))
    assert [e.type_name for e in again.events][:2] == ["session_started", "action"]


def test_tracker_cache_can_be_turned_off_and_is_bounded(tmp_path, monkeypatch):
    import asyncio

    monkeypatch.setenv("ANXIN_TRACKER_DB_URL", f"sqlite:///{tmp_path / 'conv.db'}")
    monkeypatch.setenv("ANXIN_TRACKER_CACHE", "2")
    store = UrlSQLTrackerStore(domain=Domain.empty())
    for sender in ("a", "b", "c"):
        asyncio.run(store.save(DialogueStateTracker.from_events(sender, [UserUttered("你好")])))
        asyncio.run(store.retrieve(sender))
    assert len(store.event_cache) == 2
    monkeypatch.setenv("ANXIN_TRACKER_CACHE", "0")
    uncached = UrlSQLTrackerStore(domain=Domain.empty())
    for _ in range(3):
        assert asyncio.run(uncached.retrieve("a")).latest_message.text == "你好"
    cache = uncached.event_cache
    assert (cache.full_reads, cache.incremental_reads, len(cache)) == (3, 0, 0)
