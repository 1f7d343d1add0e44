"""One place that turns a database URL into SQLAlchemy sessions, for every store in ``bot``.

The project's tables fall in two schemas, each a migration tree in ``bot/migrations``: ``bank``
(accounts, payees, transfers, WeChat bindings, one-time codes; ``ANXIN_BANK_DB_URL``) and
``compliance`` (audit trail, risk profiles, handoffs, the copilot's agents, turns and feedback;
``ANXIN_AUDIT_DB_URL``). A store asks for sessions of its schema; the first time a process
does, for the URL configured then, the schema is brought to the newest revision (or checked,
see ``ensure_schema``), so no store ever creates or alters a table itself.

SQLite (the embedded default) gets a busy timeout so the Rasa server and the action server
can write to the same file; any other URL (PostgreSQL) is used as given. Works with the
SQLAlchemy 1.4 of the Rasa environment and the 2.x of the action-server environment.
"""

from __future__ import annotations

import threading

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

from bot import settings

BANK = "bank"
COMPLIANCE = "compliance"
SCHEMAS = (BANK, COMPLIANCE)

_lock = threading.RLock()
_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker] = {}
_ready: set[tuple[str, str]] = set()


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


def new_engine(url: str | URL, synchronous: str = "FULL") -> Engine:
    """An engine of its own for ``url`` (``engine`` shares one per URL). A bare ``postgresql://``
    URL means psycopg2 in both environments: SQLAlchemy 2.1 would otherwise pick psycopg 3,
    which the Rasa environment (SQLAlchemy 1.4, psycopg2 from Rasa) does not have.

    A SQLite file keeps its connections in a pool, as SQLAlchemy 2.0 does by default: 1.4 (the
    Rasa environment) opened and closed the file for every session, 4% of a turn's work under
    load (bench/load_profile.py). Its connections are not pinged before use (a file does not
    drop them); a server's are. ``synchronous``: see ``use_wal``."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if parsed.get_backend_name() != "sqlite":
        created = create_engine(parsed, pool_pre_ping=True)
    elif parsed.database in (None, "", ":memory:"):
        created = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 15})
    else:
        created = create_engine(parsed, poolclass=QueuePool,
                                connect_args={"check_same_thread": False, "timeout": 15})
    use_wal(created, synchronous)
    return created


def engine(url: str) -> Engine:
    """The process's one engine (and connection pool) for ``url``."""
    with _lock:
        found = _engines.get(url)
        if found is None:
            found = _engines[url] = new_engine(url)
        return found


def url(schema: str) -> str:
    """The database URL ``schema`` lives at (``bot.settings``; read anew each time)."""
    if schema == BANK:
        return settings.bank_db_url()
    if schema == COMPLIANCE:
        return settings.audit_db_url()
    raise ValueError(f"unknown schema {schema!r}: one of {', '.join(SCHEMAS)}")


def ensure_schema(schema: str) -> str:
    """Bring ``schema`` to the newest revision in its database, once per process and URL;
    returns the URL.

    ``ANXIN_DB_AUTO_UPGRADE`` on (the default): upgrade, adopting a database made before
    migrations if it matches what that code made. Off: only check, and refuse a database that
    is not at the newest revision with a message saying what to run. Threads of one process
    wait here; processes starting together are serialised by ``bot.migrations`` (a file lock
    on SQLite, an advisory lock on PostgreSQL)."""
    where = url(schema)
    key = (where, schema)
    if key in _ready:
        return where
    with _lock:
        if key not in _ready:
            from bot import migrations  # alembic is imported by the first session only

            migrations.ensure(engine(where), schema, upgrade=settings.db_auto_upgrade())
            _ready.add(key)
    return where


def sessions(schema: str) -> sessionmaker:
    """A session factory for the database of ``schema`` (``BANK`` or ``COMPLIANCE``), which is
    up to date."""
    where = ensure_schema(schema)
    with _lock:
        factory = _factories.get(where)
        if factory is None:
            factory = _factories[where] = sessionmaker(bind=engine(where), expire_on_commit=False)
        return factory
