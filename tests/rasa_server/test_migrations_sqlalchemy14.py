"""The Rasa server writes the audit trail and reads accounts, so it migrates too, with the
SQLAlchemy 1.4 Rasa pins: the same revisions make exactly the models' tables there, on SQLite
and on PostgreSQL (psycopg2, Rasa's own driver), and the stores work on them."""

from __future__ import annotations

import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot import db, migrations
from bot.compliance import audit, risk_profile


def drift(engine, schema: str) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": migrations.version_table(schema), "compare_type": True})
        return compare_metadata(context, migrations.target_metadata(schema))


def test_this_is_the_rasa_environment():
    assert sqlalchemy.__version__.startswith("1.4")


def test_sqlite_upgrade_round_trip_has_no_drift(tmp_path):
    for schema in db.SCHEMAS:
        engine = db.new_engine(f"sqlite:///{tmp_path / schema}.db")
        migrations.upgrade(engine, schema)
        assert drift(engine, schema) == []
        migrations.downgrade(engine, schema, "base")
        assert set(inspect(engine).get_table_names()) == {migrations.version_table(schema)}
        migrations.upgrade(engine, schema)
        assert drift(engine, schema) == []


def test_postgresql_stores_of_the_rasa_server_work_on_the_migrated_schema(pg_database, monkeypatch):
    monkeypatch.setenv("ANXIN_AUDIT_DB_URL", pg_database)
    risk_profile.save("pg-rasa", "C3")
    audit.record("pg-rasa", "handoff")
    assert risk_profile.current("pg-rasa").level == "C3" and audit.verify().ok
    engine = db.engine(pg_database)
    assert drift(engine, db.COMPLIANCE) == []
