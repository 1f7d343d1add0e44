"""Shared pytest set-up: every test gets its own state folder, so no test sees another's data."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_state(tmp_path, monkeypatch):
    monkeypatch.setenv("ANXIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("ANXIN_BANK_DB_URL", raising=False)
    monkeypatch.delenv("ANXIN_TRACKER_DB_URL", raising=False)
    monkeypatch.delenv("ANXIN_REDIS_URL", raising=False)
    monkeypatch.setenv("ANXIN_DEMO_MODE", "1")  # tests that need it off turn it off
    return tmp_path / "state"
