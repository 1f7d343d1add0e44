"""Tracker and lock stores configured by URL from the environment.

Rasa's own SQL tracker store takes dialect, host, port and database as separate keys and
its Redis lock store needs a host; operators think in URLs. These thin adapters let
endpoints.yml stay the same everywhere: SQLite and in-memory locks by default,
PostgreSQL (``ANXIN_TRACKER_DB_URL``) and Redis (``ANXIN_REDIS_URL``) when set.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.engine import make_url

from bot import db, settings
from bot.compliance.masking import mask_event
from bot.rasa_ext import processor_patches

# Rasa imports this module for endpoints.yml's tracker and lock stores, so a plain `rasa run`
# installs the compliance guard (and never_silent) too, before the first message.
processor_patches.install()


class UrlSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose database is one SQLAlchemy URL (default: SQLite in the state
    folder), and which stores every event with ID-card, bank-card and phone numbers masked."""

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
        # Conversation logs on SQLite: WAL + synchronous=NORMAL saves ~50-90 ms per turn of
        # fsyncs (measured); the last turns may be lost on power loss, the file never corrupts.
        db.use_wal(self.engine, synchronous="NORMAL")

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


class EnvLockStore:
    """Factory Rasa instantiates from endpoints.yml: Redis when ``ANXIN_REDIS_URL`` is set,
    else in-memory (correct only for a single Rasa worker)."""

    def __new__(cls, endpoint_config: Any = None) -> LockStore:  # type: ignore[misc]
        url = settings.redis_lock_url()
        if not url:
            return InMemoryLockStore()
        parsed = urlparse(url)
        return RedisLockStore(
            host=parsed.hostname or "localhost",
            port=parsed.port or 6379,
            db=int(parsed.path.lstrip("/") or 0),
            password=parsed.password,
            use_ssl=parsed.scheme == "rediss",
            key_prefix="anxin",
        )
