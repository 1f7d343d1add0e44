"""Schema migrations (bot/migrations): from an empty database the revisions make exactly what the
ORM models define, on SQLite and on PostgreSQL; they go down and up again; a database made
before migrations is adopted when it matches what that code made and refused, unaltered,
when it does not; processes starting together migrate once.

The no-drift tests are the ones that fail when someone changes a model without a revision:
``python -m bot.migrate revision --schema ... -m ... --autogenerate`` drafts it."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from bot import db, migrate, migrations
from bot.migrations import SchemaError, legacy

ROOT = Path(__file__).resolve().parents[2]


def drift(connection, schema: str) -> list:
    """What the database lacks or has beyond the models of ``schema`` (alembic autogenerate)."""
    context = MigrationContext.configure(
        connection, opts={"version_table": migrations.version_table(schema), "compare_type": True})
    return compare_metadata(context, migrations.target_metadata(schema))


def sqlite_engine(path: Path):
    return create_engine(f"sqlite:///{path}")


def tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


@pytest.mark.parametrize("schema", db.SCHEMAS)
def test_upgrade_from_empty_makes_exactly_the_models_tables(tmp_path, schema):
    engine = sqlite_engine(tmp_path / f"{schema}.db")
    migrations.upgrade(engine, schema)
    assert tables(engine) == set(migrations.target_metadata(schema).tables) | {migrations.version_table(schema)}
    with engine.connect() as connection:
        assert drift(connection, schema) == []
        assert migrations.current(connection, schema) == migrations.head(schema)


def test_a_model_changed_without_a_revision_is_drift(tmp_path, monkeypatch):
    engine = sqlite_engine(tmp_path / "compliance.db")
    migrations.upgrade(engine, db.COMPLIANCE)
    changed = migrations.target_metadata(db.COMPLIANCE)
    changed.tables["handoffs"].append_column(sqlalchemy.Column("channel", sqlalchemy.String(16)))
    monkeypatch.setattr(migrations, "target_metadata", lambda schema: changed)
    with engine.connect() as connection:
        found = drift(connection, db.COMPLIANCE)
    assert [(d[0], d[2], d[3].name) for d in found] == [("add_column", "handoffs", "channel")]


def test_every_store_model_belongs_to_one_schema():
    """A new store's Base must be listed in migrations.MODELS, else its tables have no migration."""
    modules = set()
    for path in (ROOT / "bot").rglob("*.py"):
        if "migrations" not in path.parts and re.search(r"^Base = declarative_base\(", path.read_text(), re.M):
            modules.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
    listed = [name for names in migrations.MODELS.values() for name in names]
    assert sorted(listed) == sorted(modules)
    names = [t for schema in db.SCHEMAS for t in migrations.target_metadata(schema).tables]
    assert len(names) == len(set(names))
    assert {t for schema in db.SCHEMAS for t in legacy.TABLES[schema]} <= set(names)  # later tables are not legacy


@pytest.mark.parametrize("schema", db.SCHEMAS)
def test_down_to_nothing_and_up_again(tmp_path, schema):
    engine = sqlite_engine(tmp_path / f"{schema}.db")
    migrations.upgrade(engine, schema)
    migrations.downgrade(engine, schema, "base")
    assert tables(engine) == {migrations.version_table(schema)}
    migrations.upgrade(engine, schema)
    with engine.connect() as connection:
        assert drift(connection, schema) == []


def test_the_copilot_columns_revision_goes_down_and_up_keeping_the_turns(tmp_path):
    engine = sqlite_engine(tmp_path / "compliance.db")
    migrations.upgrade(engine, db.COMPLIANCE)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO copilot_turns (call_id, at, text, agent, customer_id) "
                                "VALUES ('call-1', '2026-11-25 10:00:00', '你好', 'agent-1', 'demo-c3')"))
    migrations.downgrade(engine, db.COMPLIANCE, "compliance_0001")
    columns = {c["name"] for c in inspect(engine).get_columns("copilot_turns")}
    assert columns == legacy.TABLES[db.COMPLIANCE]["copilot_turns"]
    migrations.upgrade(engine, db.COMPLIANCE)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT call_id, agent FROM copilot_turns")).all() == [("call-1", None)]
        assert drift(connection, db.COMPLIANCE) == []


@pytest.mark.parametrize("schema,revision", [(db.BANK, "bank_0001"), (db.COMPLIANCE, "compliance_0002")])
def test_the_frozen_description_of_pre_migration_tables_is_what_the_first_revisions_make(tmp_path, schema, revision):
    engine = sqlite_engine(tmp_path / f"{schema}.db")
    migrations.upgrade(engine, schema, revision)
    made = {t: {c["name"] for c in inspect(engine).get_columns(t)} for t in legacy.TABLES[schema]}
    extra = {"copilot_turns": {"agent", "customer_id"}} if schema == db.COMPLIANCE else {}
    assert made == {t: columns | extra.get(t, set()) for t, columns in legacy.TABLES[schema].items()}


def test_both_schemas_can_share_one_database(tmp_path):
    engine = sqlite_engine(tmp_path / "shared.db")
    for schema in db.SCHEMAS:
        migrations.upgrade(engine, schema)
    with engine.connect() as connection:
        assert {migrations.current(connection, s) for s in db.SCHEMAS} == {migrations.head(s) for s in db.SCHEMAS}
    migrations.downgrade(engine, db.BANK, "base")
    assert "audit_events" in tables(engine) and "bank_accounts" not in tables(engine)


# --- databases made before migrations ------------------------------------------------------

OLD_TRIGGERS = [  # what the stores' after_create listeners made on SQLite
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS risk_profiles_no_update BEFORE UPDATE ON risk_profiles "
    "BEGIN SELECT RAISE(ABORT, 'risk profiles are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS risk_profiles_no_delete BEFORE DELETE ON risk_profiles "
    "BEGIN SELECT RAISE(ABORT, 'risk profiles are append-only'); END",
]


def make_old_database(path: Path, schema: str, only: tuple[str, ...] | None = None) -> None:
    """A database as the stores made it before migrations: create_all of (some of) the models'
    tables, less what later revisions added (``legacy.TABLES`` has the columns they had then)."""
    metadata = migrations.target_metadata(schema)
    names = [t for t in legacy.TABLES[schema] if only is None or t in only]
    engine = sqlite_engine(path)
    metadata.create_all(engine, tables=[metadata.tables[t] for t in names])
    with engine.begin() as connection:
        for name in names:
            for column in set(metadata.tables[name].columns.keys()) - legacy.TABLES[schema][name]:
                for index in inspect(connection).get_indexes(name):
                    if column in index["column_names"]:
                        connection.execute(text(f"DROP INDEX {index['name']}"))
                connection.execute(text(f"ALTER TABLE {name} DROP COLUMN {column}"))
        for statement in OLD_TRIGGERS:
            table = statement.split(" ON ")[1].split()[0]
            if table in tables(engine):
                connection.execute(text(statement))
    engine.dispose()


def test_an_old_database_that_matches_is_adopted_keeping_its_data(isolated_state):
    isolated_state.mkdir(parents=True, exist_ok=True)
    make_old_database(isolated_state / "bank.db", db.BANK)
    with sqlite3.connect(isolated_state / "bank.db") as connection:
        connection.execute("INSERT INTO bank_accounts VALUES ('old-1', '老客户', 'CNY', 100000, '6222000011112222', "
                           "NULL, NULL)")
    from bot.accounts import store

    assert store.account("old-1").balance == Decimal("1000.00")
    engine = db.engine(db.url(db.BANK))
    with engine.connect() as connection:
        assert migrations.current(connection, db.BANK) == migrations.head(db.BANK)
        assert drift(connection, db.BANK) == []


def test_an_old_compliance_database_from_before_copilot_agents_gets_what_it_lacks(isolated_state):
    isolated_state.mkdir(parents=True, exist_ok=True)
    path = isolated_state / "compliance.db"
    make_old_database(path, db.COMPLIANCE, only=("audit_events", "risk_profiles", "handoffs"))
    with sqlite3.connect(path) as connection:  # the copilot's first turns table: no agent, no customer
        connection.execute("CREATE TABLE copilot_turns (id INTEGER NOT NULL, call_id VARCHAR(128) NOT NULL, "
                           "at DATETIME NOT NULL, text TEXT NOT NULL, intent VARCHAR(64), emotion VARCHAR(16), "
                           "anxiety FLOAT, PRIMARY KEY (id))")
        connection.execute("CREATE INDEX ix_copilot_turns_call_id ON copilot_turns (call_id)")
        connection.execute("INSERT INTO copilot_turns (call_id, at, text) VALUES ('call-old', '2026-01-01', '嗯')")
    from bot.copilot import store

    assert store.trend("call-old") == [{"turn_id": 1, "emotion": None, "anxiety": None}]
    store.add_turn("call-new", "你好", "greet", "calm", 0.1, "agent-1", "demo-c3")
    assert store.calls_about("demo-c3") == ["call-new"]
    with db.engine(db.url(db.COMPLIANCE)).connect() as connection:
        assert drift(connection, db.COMPLIANCE) == []


def test_an_old_database_that_does_not_match_is_refused_unaltered(isolated_state):
    isolated_state.mkdir(parents=True, exist_ok=True)
    path = isolated_state / "bank.db"
    with sqlite3.connect(path) as connection:  # an early account store: Numeric balances
        connection.execute("CREATE TABLE bank_accounts (customer_id VARCHAR(128) PRIMARY KEY, display_name "
                           "VARCHAR(128) NOT NULL, currency VARCHAR(3) NOT NULL, balance NUMERIC(18, 2) NOT NULL, "
                           "account_no VARCHAR(32) NOT NULL)")
    from bot.accounts import store

    with pytest.raises(SchemaError) as refused:
        store.account("demo-c3")
    message = str(refused.value)
    assert str(path) in message and "bank_accounts" in message and "lacks balance_fen" in message
    assert "Remove the file" in message and "bot/migrations/bank/" in message
    with sqlite3.connect(path) as connection:
        assert [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == \
            ["bank_accounts"]


def test_with_automatic_upgrades_off_a_server_only_checks(isolated_state, monkeypatch):
    monkeypatch.setenv("ANXIN_DB_AUTO_UPGRADE", "0")
    from bot import handoff

    with pytest.raises(SchemaError, match="python -m bot.migrate upgrade"):
        handoff.recent("c-1")
    assert migrate.main(["check"]) == 1
    assert migrate.main(["upgrade"]) == 0
    assert migrate.main(["check"]) == 0
    handoff.record("c-1", {"reason": "asked"})
    assert [h.customer_id for h in handoff.recent("c-1")] == ["c-1"]


def test_processes_starting_together_migrate_once(isolated_state):
    isolated_state.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [subprocess.Popen([sys.executable, "-m", "bot.migrate", "upgrade"], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    for schema in db.SCHEMAS:
        with db.engine(db.url(schema)).connect() as connection:
            assert migrations.current(connection, schema) == migrations.head(schema)
            assert drift(connection, schema) == []


def test_a_database_a_newer_version_upgraded_is_refused(tmp_path):
    engine = sqlite_engine(tmp_path / "bank.db")
    migrations.upgrade(engine, db.BANK)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version_bank SET version_num = 'bank_0099'"))
    with pytest.raises(SchemaError, match="bank_0099, which this version of Anxin does not know"):
        migrations.ensure(engine, db.BANK)


def test_autogenerate_drafts_the_revision_a_model_change_needs(tmp_path, monkeypatch):
    copy = tmp_path / "migrations"
    shutil.copytree(Path(migrations.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrations, "HERE", copy)
    monkeypatch.setattr(migrations, "_scripts", {})
    changed = migrations.target_metadata(db.BANK)
    changed.tables["bank_accounts"].append_column(sqlalchemy.Column("branch", sqlalchemy.String(16)))
    monkeypatch.setattr(migrations, "target_metadata", lambda schema: changed)
    head = migrations.head(db.BANK)
    following = f"bank_{int(head.rsplit('_', 1)[1]) + 1:04d}"
    written = Path(migrate.revision(db.BANK, "accounts name their branch", autogenerate=True))
    assert written.parent == copy / "bank" and written.name == f"{following}_accounts_name_their_branch.py"
    draft = written.read_text()
    assert f"down_revision = '{head}'" in draft and "add_column(sa.Column('branch'" in draft
    monkeypatch.setattr(migrations, "_scripts", {})
    engine = sqlite_engine(tmp_path / "bank.db")
    migrations.upgrade(engine, db.BANK)
    with engine.connect() as connection:
        assert migrations.current(connection, db.BANK) == following and drift(connection, db.BANK) == []


def test_the_sql_for_review_creates_every_table(capsys):
    assert migrate.main(["sql", "--schema", "compliance"]) == 0
    sql = capsys.readouterr().out
    for table in migrations.target_metadata(db.COMPLIANCE).tables:
        assert f"CREATE TABLE {table}" in sql
    assert "CREATE TRIGGER audit_no_change" in sql and "alembic_version_compliance" in sql


# --- PostgreSQL (a throwaway cluster: tests/postgres.py) ---------------------------------------

@pytest.mark.parametrize("schema", db.SCHEMAS)
def test_postgresql_upgrade_from_empty_has_no_drift_and_goes_down_and_up(pg_database, schema):
    engine = db.new_engine(pg_database)
    try:
        migrations.upgrade(engine, schema)
        assert tables(engine) == set(migrations.target_metadata(schema).tables) | {migrations.version_table(schema)}
        with engine.connect() as connection:
            assert drift(connection, schema) == []
        migrations.downgrade(engine, schema, "base")
        assert tables(engine) == {migrations.version_table(schema)}
        migrations.upgrade(engine, schema)
        with engine.connect() as connection:
            assert drift(connection, schema) == []
    finally:
        engine.dispose()


def test_postgresql_stores_work_on_the_migrated_schema_and_its_triggers_refuse_changes(pg_database, monkeypatch):
    monkeypatch.setenv("ANXIN_BANK_DB_URL", pg_database)  # both schemas in one database
    monkeypatch.setenv("ANXIN_AUDIT_DB_URL", pg_database)
    from bot.accounts import store
    from bot.compliance import audit, risk_profile

    assert store.transfer("demo-c3", "张三", Decimal("10"), "pg-key-1").status == "ok"
    risk_profile.save("pg-c", "C2")
    audit.record("pg-c", "handoff")
    assert audit.verify().ok
    engine = db.engine(pg_database)
    for statement in ("UPDATE risk_profiles SET level = 'C5'", "DELETE FROM audit_events"):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert risk_profile.current("pg-c").level == "C2"


def test_postgresql_processes_starting_together_migrate_once(pg_database):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ANXIN_BANK_DB_URL": pg_database, "ANXIN_AUDIT_DB_URL": pg_database}
    runs = [subprocess.Popen([sys.executable, "-m", "bot.migrate", "ensure"], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    engine = db.new_engine(pg_database)
    with engine.connect() as connection:
        for schema in db.SCHEMAS:
            assert migrations.current(connection, schema) == migrations.head(schema)
    engine.dispose()


def test_postgresql_old_database_without_triggers_is_refused_unaltered(pg_database):
    engine = db.new_engine(pg_database)
    metadata = migrations.target_metadata(db.COMPLIANCE)
    metadata.create_all(engine, tables=[metadata.tables["risk_profiles"]])
    with pytest.raises(SchemaError, match="risk_profiles was made by an older version of Anxin and lacks the triggers"):
        migrations.ensure(engine, db.COMPLIANCE)
    assert tables(engine) == {"risk_profiles"}
    engine.dispose()
