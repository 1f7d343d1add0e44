"""Shared pytest set-up: every test gets its own state folder, so no test sees another's data;
tests that ask for PostgreSQL get a new database in a throwaway cluster (tests/postgres.py)."""

from __future__ import annotations

import re

import pytest

from tests.postgres import Cluster, Unavailable


@pytest.fixture(autouse=True)
def isolated_state(tmp_path, monkeypatch):
    monkeypatch.setenv("ANXIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("ANXIN_BANK_DB_URL", raising=False)
    monkeypatch.delenv("ANXIN_AUDIT_DB_URL", raising=False)
    monkeypatch.delenv("ANXIN_DB_AUTO_UPGRADE", raising=False)
    monkeypatch.delenv("ANXIN_TRACKER_DB_URL", raising=False)
    monkeypatch.delenv("ANXIN_REDIS_URL", raising=False)
    monkeypatch.setenv("ANXIN_DEMO_MODE", "1")  # tests that need it off turn it off
    return tmp_path / "state"


@pytest.fixture(scope="session")
def postgres():
    """The URL (no database) of a PostgreSQL cluster started for this test session and stopped
    after it; a test that needs it fails, never skips, when PostgreSQL is missing."""
    try:
        cluster = Cluster()
    except Unavailable as error:
        pytest.fail(str(error))
    try:
        cluster.start()
    except Unavailable as error:
        cluster.stop()
        pytest.fail(str(error))
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def pg_database(postgres, request):
    """The URL of a new, empty database of its own in the throwaway cluster."""
    from sqlalchemy import text

    from bot import db

    name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:50]
    admin = db.new_engine(f"{postgres}/postgres")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{postgres}/{name}"
