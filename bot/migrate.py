"""Schema migrations from the command line: what a bank engineer runs, and what the servers run
at start (``ensure``). The databases are the ones the servers use (``ANXIN_BANK_DB_URL``,
``ANXIN_AUDIT_DB_URL``); ``--schema`` limits a command to one of them.

    python -m bot.migrate upgrade [--schema bank|compliance] [--to REV]   # default: newest
    python -m bot.migrate current            # each schema's revision and the newest
    python -m bot.migrate check              # exit 1 unless every schema is at the newest revision
    python -m bot.migrate ensure             # the servers' start: upgrade, or check if ANXIN_DB_AUTO_UPGRADE=0
    python -m bot.migrate downgrade --schema compliance --to compliance_0001
    python -m bot.migrate sql --schema compliance [--dialect postgresql]  # DDL from empty, for review
    python -m bot.migrate revision --schema bank -m "what changes" [--autogenerate]

``revision --autogenerate`` compares the ORM models with a throwaway SQLite database upgraded to
the newest revision, so it needs no database of yours and drafts exactly what the models
added; read the draft (SQLite-specific details, data moves) before committing it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from bot import db, migrations
from bot.migrations import SchemaError


def _schemas(chosen: str | None) -> tuple[str, ...]:
    return (chosen,) if chosen else db.SCHEMAS


def status(schema: str) -> tuple[str, str | None, str]:
    """(database, revision it is at, newest revision) of ``schema``."""
    engine = db.engine(db.url(schema))
    with engine.connect() as connection:
        return migrations.describe(engine), migrations.current(connection, schema), migrations.head(schema)


def _next_id(schema: str) -> str:
    numbers = [int(r.revision.rsplit("_", 1)[1]) for r in migrations.script(schema).walk_revisions()]
    return f"{schema}_{max(numbers, default=0) + 1:04d}"


def revision(schema: str, message: str, autogenerate: bool) -> str:
    """Write a new revision file after the newest one; returns its path."""
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'head.db'}"
        engine = create_engine(url)
        try:
            if autogenerate:
                migrations.upgrade(engine, schema)
            with engine.begin() as connection:
                cfg = migrations.config(schema, connection=connection, metadata=migrations.target_metadata(schema))
                written = command.revision(cfg, message=message, autogenerate=autogenerate, rev_id=_next_id(schema))
        finally:
            engine.dispose()
    return written.path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.migrate", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("upgrade", "downgrade", "current", "check", "ensure", "sql", "revision"))
    parser.add_argument("--schema", choices=db.SCHEMAS)
    parser.add_argument("--to", help="upgrade: target revision (default: the newest); downgrade: required")
    parser.add_argument("-m", "--message", help="revision: what the new revision changes")
    parser.add_argument("--autogenerate", action="store_true", help="revision: draft it from the models")
    parser.add_argument("--dialect", default="postgresql", help="sql: the database to write DDL for")
    args = parser.parse_args(argv)
    try:
        if args.command in ("upgrade", "ensure"):
            for schema in _schemas(args.schema):
                if args.command == "ensure":
                    db.ensure_schema(schema)
                else:
                    migrations.upgrade(db.engine(db.url(schema)), schema, args.to or "head")
                where, at, newest = status(schema)
                print(f"{schema}: {where} at {at}" + ("" if at == newest else f" (newest: {newest})"))
        elif args.command == "downgrade":
            if not (args.schema and args.to):
                parser.error("downgrade needs --schema and --to (a revision, or base to drop every table)")
            migrations.downgrade(db.engine(db.url(args.schema)), args.schema, args.to)
            print(f"{args.schema}: {status(args.schema)[0]} at {status(args.schema)[1]}")
        elif args.command in ("current", "check"):
            behind = 0
            for schema in _schemas(args.schema):
                where, at, newest = status(schema)
                behind += at != newest
                print(f"{schema}: {where} at {at or 'nothing (not set up by migrations)'}; newest {newest}")
            if args.command == "check" and behind:
                print("Run: python -m bot.migrate upgrade", file=sys.stderr)
                return 1
        elif args.command == "sql":
            if not args.schema:
                parser.error("sql needs --schema")
            cfg = migrations.config(args.schema)
            cfg.attributes["dialect"] = args.dialect
            command.upgrade(cfg, "head", sql=True)
        else:
            if not (args.schema and args.message):
                parser.error("revision needs --schema and -m")
            print(revision(args.schema, args.message, args.autogenerate))
    except SchemaError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
