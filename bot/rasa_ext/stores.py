"""Tracker and lock stores configured by URL from the environment.

Rasa's own SQL tracker store takes dialect, host, port and database as separate keys and
its Redis lock store needs a host; operators think in URLs. These thin adapters let
endpoints.yml stay the same everywhere: SQLite and in-memory locks by default,
PostgreSQL (``ANXIN_TRACKER_DB_URL``) and Redis (``ANXIN_REDIS_URL``) when set.

Both survive their server restarting under a running Rasa server: the tracker store's pool
checks a connection before lending it (``pool_pre_ping``, which Rasa's own store does not set),
so a PostgreSQL restart costs no turn once it is back; the lock store's Redis calls give up after
``ANXIN_REDIS_TIMEOUT`` (the turn is then answered "please retry"), so a Redis that hangs does
not hang the server.

Rasa's own Redis lock store reads a conversation's ticket lock, changes it and writes it back
in separate calls: right for one Rasa process (no await in between), but two replicas issuing
tickets for one conversation at once can both get the same ticket, or one can delete the lock
the other just queued on (its turn then fails with LockError). ``AtomicRedisLockStore`` makes
each of those changes one Redis transaction (WATCH/MULTI, retried when another replica wrote
in between), and checks a waiting turn's ticket every 0.1 s instead of every second.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlparse

from rasa.core import lock_store as rasa_lock_store
from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockError, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import create_engine, func
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from bot import db, settings
from bot.compliance.masking import mask_event
from bot.rasa_ext import processor_patches
from bot.rasa_ext.tracker_cache import TrackerEventCache, row

# Rasa imports this module for endpoints.yml's tracker and lock stores, so a plain `rasa run`
# installs the compliance guard (and never_silent) too, before the first message.
processor_patches.install()


class UrlSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose database is one SQLAlchemy URL (default: SQLite in the state
    folder), which stores every event with ID-card, bank-card and phone numbers masked, and
    which reads only a conversation's new rows on its next turn (``TrackerEventCache``)."""

    def __init__(self, domain: Any = None, host: Any = None, event_broker: Any = None,
                 url: str | None = None, **kwargs: Any) -> None:
        parsed = make_url(url or settings.tracker_db_url())
        super().__init__(
            domain=domain,
            dialect=parsed.drivername,
            host=parsed.host,
            port=parsed.port,
            db=parsed.database,
            username=parsed.username,
            password=parsed.password,
            event_broker=event_broker,
            query=dict(parsed.query),
            **kwargs,
        )
        engine_url = self.engine.url
        if self.engine.dialect.name != "sqlite":  # same engine as Rasa's, plus pool_pre_ping
            self.engine.dispose()
            self.engine = create_engine(engine_url, pool_pre_ping=True, **create_engine_kwargs(engine_url))
        elif engine_url.database not in (None, "", ":memory:"):  # an in-memory one keeps Rasa's engine
            # A SQLite file as the project's (bot.db: connections kept). Conversation logs with
            # synchronous=NORMAL: saves ~50-90 ms per turn of fsyncs (measured); the last turns
            # may be lost on power loss, the file never corrupts.
            self.engine.dispose()
            self.engine = db.new_engine(engine_url, synchronous="NORMAL")
        self.sessionmaker = sessionmaker(bind=self.engine)
        self.event_cache = TrackerEventCache(settings.tracker_cache_conversations())

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        """Rasa's ``_retrieve``, with the latest session's events read through the cache."""
        if fetch_events_from_all_sessions or not self.domain:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        SQLEvent = self.SQLEvent
        with self.session_scope() as session:
            def rows_after(last_id: int) -> list:
                return session.query(SQLEvent.id, SQLEvent.type_name, SQLEvent.data).filter(
                    SQLEvent.sender_id == sender_id, SQLEvent.id > last_id).order_by(SQLEvent.id).all()

            def count_up_to(last_id: int) -> int:
                return session.query(func.count(SQLEvent.id)).filter(
                    SQLEvent.sender_id == sender_id, SQLEvent.id <= last_id).scalar()

            def read_session() -> list:
                return [row(e) for e in self._event_query(session, sender_id, fetch_events_from_all_sessions=False)]

            events = self.event_cache.events(sender_id, rows_after=rows_after, count_up_to=count_up_to,
                                             read_session=read_session)
        if not events:
            return None
        return DialogueStateTracker.from_events(sender_id, events, self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's ``SQLTrackerStore.save`` with each event masked (``mask_event``) on its way in."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = mask_event(event.as_dict())
                session.add(self.SQLEvent(
                    sender_id=tracker.sender_id, type_name=event.type_name, timestamp=data.get("timestamp"),
                    intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                    action_name=data.get("name"), data=json.dumps(data)))
            session.commit()


LOCK_POLL_SECONDS = 0.1
_UNCHANGED = object()


class AtomicRedisLockStore(RedisLockStore):
    """Rasa's Redis ticket lock with every read-change-write of a lock done atomically."""

    def _change(self, conversation_id: str, change: Callable[[TicketLock | None], tuple[Any, Any]]) -> Any:
        """Apply ``change(lock) -> (new lock | None to delete | _UNCHANGED, result)`` in one transaction."""
        key = self.key_prefix + conversation_id

        def apply(pipe: Any) -> Any:
            stored = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(stored)) if stored else None
            new, result = change(lock)
            pipe.multi()
            if new is None:
                pipe.delete(key)
            elif new is not _UNCHANGED:
                pipe.set(key, new.dumps())
            return result

        return self.red.transaction(apply, key, value_from_callable=True)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = rasa_lock_store.LOCK_LIFETIME) -> int:
        def issue(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except Exception as error:  # as Rasa's own: the turn fails with LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: TicketLock | None) -> tuple[Any, None]:
            if lock is None:
                return _UNCHANGED, None
            lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.cleanup(conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove the ticket, and the lock with it when nobody else holds a ticket: in one step, so
        a ticket another replica issues meanwhile is never deleted with the lock."""
        def finish(lock: TicketLock | None) -> tuple[Any, None]:
            if lock is None:
                return _UNCHANGED, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, finish)

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = rasa_lock_store.LOCK_LIFETIME,
                   wait_time_in_seconds: float = LOCK_POLL_SECONDS) -> AsyncGenerator[TicketLock, None]:
        async with super().lock(conversation_id, lock_lifetime, wait_time_in_seconds) as ticket_lock:
            yield ticket_lock


class EnvLockStore:
    """Factory Rasa instantiates from endpoints.yml: Redis when ``ANXIN_REDIS_URL`` is set,
    else in-memory (correct only for a single Rasa worker)."""

    def __new__(cls, endpoint_config: Any = None) -> LockStore:  # type: ignore[misc]
        url = settings.redis_url()
        if not url:
            return InMemoryLockStore()
        parsed = urlparse(url)
        return AtomicRedisLockStore(
            host=parsed.hostname or "localhost",
            port=parsed.port or 6379,
            db=int(parsed.path.lstrip("/") or 0),
            password=parsed.password,
            use_ssl=parsed.scheme == "rediss",
            key_prefix="anxin",
            socket_timeout=settings.redis_timeout_seconds(),
        )
