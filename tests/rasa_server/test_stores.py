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
