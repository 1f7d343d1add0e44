"""Schema migrations of the project's own tables, with Alembic, on SQLite and PostgreSQL alike.

Two migration trees, one per database the project owns (``bot.db``): ``bank/`` and
``compliance/`` hold their revisions; this folder holds the one ``env.py`` both use. Each tree
records its revision in a table of its own (``alembic_version_bank``,
``alembic_version_compliance``), so the two schemas may also share one database. The Alembic
configuration is built here in code from the stores' URLs (``bot.settings``): there is no
alembic.ini to find, and the engineer's command is ``python -m bot.migrate`` (see there).

Migrating is serialised between processes that start together: on PostgreSQL the whole upgrade
is one transaction under an advisory lock (its DDL is transactional); on SQLite, whose DDL is
not, under an exclusive lock on ``<database file>.migrate.lock``. A process that gets the lock
after another one migrated finds the database at the newest revision and does nothing.

A database made before migrations (project tables, no version table) is checked by
``bot.migrations.legacy`` and either adopted or refused, unaltered, with what to do.
"""

from __future__ import annotations

import fcntl
import importlib
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text

from bot import db

HERE = Path(__file__).resolve().parent
# The modules whose declarative ``Base`` holds each schema's tables: what autogenerate and the
# drift test compare the migrations with. A new store's module belongs here.
MODELS = {
    db.BANK: ("bot.accounts.store", "bot.identity.bindings", "bot.identity.otp", "bot.advisory.tables"),
    db.COMPLIANCE: ("bot.compliance.audit", "bot.compliance.risk_profile", "bot.handoff",
                    "bot.copilot.agents", "bot.copilot.store", "bot.copilot.scope",
                    "bot.console.reviews"),
}
_LOCK_CLASS = 0x414E58  # "ANX": the first key of PostgreSQL's two-key advisory locks
_LOCK_IDS = {db.BANK: 1, db.COMPLIANCE: 2}
_scripts: dict[str, ScriptDirectory] = {}


class SchemaError(RuntimeError):
    """A database this version of Anxin will not use as it is; the message says what to do."""


def version_table(schema: str) -> str:
    return f"alembic_version_{schema}"


def describe(engine) -> str:
    """The database's file (SQLite) or its URL without the password, for messages."""
    if engine.dialect.name == "sqlite":
        return engine.url.database or str(engine.url)
    return engine.url.render_as_string(hide_password=True)


def config(schema: str, *, connection=None, metadata: MetaData | None = None) -> Config:
    """Alembic's configuration for one tree, with no file: ``connection`` is the database the
    commands work on; ``metadata`` is what autogenerate compares with."""
    if schema not in MODELS:
        raise ValueError(f"unknown schema {schema!r}: one of {', '.join(MODELS)}")
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("version_locations", str(HERE / schema))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    cfg.attributes.update(schema=schema, connection=connection, target_metadata=metadata)
    return cfg


def script(schema: str) -> ScriptDirectory:
    """The tree's revisions (read once per process)."""
    if schema not in _scripts:
        _scripts[schema] = ScriptDirectory.from_config(config(schema))
    return _scripts[schema]


def head(schema: str) -> str:
    return script(schema).get_current_head()


def current(connection, schema: str) -> str | None:
    """The revision the database is at; None if the tree never ran there."""
    context = MigrationContext.configure(connection, opts={"version_table": version_table(schema)})
    return context.get_current_revision()


def target_metadata(schema: str) -> MetaData:
    """Every table the ORM models of ``schema`` define, in one MetaData."""
    combined = MetaData()
    for name in MODELS[schema]:
        for table in importlib.import_module(name).Base.metadata.tables.values():
            table.to_metadata(combined)
    return combined


def run_environment(context) -> None:
    """What ``env.py`` does: run the migrations Alembic asked for through the connection the
    caller gave (offline, ``--sql``: write them for ``attributes["dialect"]``), recording them in
    the tree's own version table."""
    cfg = context.config
    options = {"version_table": version_table(cfg.attributes["schema"]),
               "target_metadata": cfg.attributes.get("target_metadata"),
               "render_as_batch": True,  # SQLite alters most tables only by copying them
               "compare_type": True}
    if context.is_offline_mode():
        context.configure(dialect_name=cfg.attributes.get("dialect", "postgresql"), literal_binds=True, **options)
    else:
        context.configure(connection=cfg.attributes["connection"], **options)
    with context.begin_transaction():
        context.run_migrations()


@contextmanager
def _exclusive(engine, schema: str):
    """A connection in a transaction through which only this process migrates ``schema``."""
    dialect = engine.dialect.name
    database = engine.url.database if dialect == "sqlite" else None
    handle = None
    if database and database != ":memory:":
        handle = open(f"{database}.migrate.lock", "a")  # held until the migration is done
        fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        with engine.begin() as connection:
            if dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"),
                                   {"a": _LOCK_CLASS, "b": _LOCK_IDS[schema]})
            yield connection
    finally:
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def _known(schema: str, revision: str, engine) -> None:
    revisions = {r.revision for r in script(schema).walk_revisions()}
    if revision not in revisions:
        raise SchemaError(
            f"{describe(engine)}: the {schema} schema is at revision {revision}, which this version of Anxin "
            "does not know: a newer version upgraded it. Run that version, or downgrade the database with it "
            f"(python -m bot.migrate downgrade --schema {schema} --to {head(schema)}).")


def _upgrade(connection, engine, schema: str, target: str) -> None:
    from bot.migrations import legacy

    found = current(connection, schema)
    if found is None:
        legacy.check(connection, engine, schema)
    else:
        _known(schema, found, engine)
    command.upgrade(config(schema, connection=connection), target)


def ensure(engine, schema: str, *, upgrade: bool = True) -> None:
    """Make sure ``schema`` is at the newest revision: upgrade it (``upgrade``) or refuse."""
    newest = head(schema)
    with engine.connect() as connection:
        found = current(connection, schema)
    if found == newest:
        return
    if not upgrade:
        if found is not None:
            _known(schema, found, engine)
        state = f"at revision {found}" if found else "not set up by migrations"
        raise SchemaError(
            f"{describe(engine)}: the {schema} schema is {state}, this version of Anxin needs {newest}, and "
            "automatic upgrades are off (ANXIN_DB_AUTO_UPGRADE=0). Run: python -m bot.migrate upgrade")
    with _exclusive(engine, schema) as connection:
        if current(connection, schema) != newest:  # another process may have done it meanwhile
            _upgrade(connection, engine, schema, "head")


def upgrade(engine, schema: str, target: str = "head") -> None:
    with _exclusive(engine, schema) as connection:
        _upgrade(connection, engine, schema, target)


def downgrade(engine, schema: str, target: str) -> None:
    with _exclusive(engine, schema) as connection:
        command.downgrade(config(schema, connection=connection), target)
