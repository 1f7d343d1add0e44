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
