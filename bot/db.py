"""One place that turns a database URL into SQLAlchemy sessions, for every store in ``bot``.

SQLite (the embedded default) gets a busy timeout so the Rasa server and the action server
can write to the same file; any other URL (PostgreSQL) is used as given. Works with the
SQLAlchemy 1.4 of the Rasa environment and the 2.x of the action-server environment.
"""

from __future__ import annotations

import threading

from sqlalchemy import create_engine, event
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import sessionmaker

_lock = threading.Lock()
_factories: dict[tuple[str, int], sessionmaker] = {}


def use_wal(engine, synchronous: str = "FULL") -> None:
    """SQLite only: write-ahead logging, so the Rasa server and the action server can read
    while the other writes. ``synchronous`` FULL keeps every commit on power loss (money,
    audit); NORMAL may lose the last commits on power loss, never corrupts, and is much faster."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    engine.dispose()  # connections opened before the listener get the pragmas on reopen


def _create_tables(engine, metadata) -> None:
    """Create missing tables; another process (the other server) may be doing the same."""
    for attempt in range(3):
        try:
            metadata.create_all(engine)
            return
        except (OperationalError, ProgrammingError) as error:
            if "already exists" not in str(error) or attempt == 2:
                raise


def sessions(url: str, metadata) -> sessionmaker:
    """A session factory for ``url`` whose tables (``metadata``) exist; one per URL and schema."""
    key = (url, id(metadata))
    with _lock:
        factory = _factories.get(key)
        if factory is None:
            connect_args = {"check_same_thread": False, "timeout": 15} if url.startswith("sqlite") else {}
            engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
            use_wal(engine)
            _create_tables(engine, metadata)
            factory = _factories[key] = sessionmaker(bind=engine, expire_on_commit=False)
        return factory


_checked: set[tuple[str, int]] = set()


def checked_session(url: str, metadata, check):
    """A session of ``sessions(url, metadata)``; ``check(session)`` runs once per URL and schema
    before the first one is handed out (e.g. refusing a database an older version made)."""
    session = sessions(url, metadata)()
    key = (url, id(metadata))
    if key not in _checked:
        try:
            check(session)
        except BaseException:
            session.close()
            raise
        _checked.add(key)
    return session
