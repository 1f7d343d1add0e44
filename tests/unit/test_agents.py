"""The copilot's agent registry: keys stored only as hashes, roles, disabling, the demo agents
and the command line."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from bot import settings
from bot.copilot import agents


def database_bytes() -> bytes:
    path = settings.audit_db_url().removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:  # fold the WAL into the file, then read all of it
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return open(path, "rb").read()


def test_only_the_hash_of_the_key_is_stored():
    key = agents.add("li.wei", "李伟", "agent")
    assert len(key) >= 43  # 32 random bytes, URL-safe
    with sqlite3.connect(settings.audit_db_url().removeprefix("sqlite:///")) as connection:
        rows = connection.execute("SELECT * FROM copilot_agents").fetchall()
    assert len(rows) == 1 and hashlib.sha256(key.encode()).hexdigest() in rows[0]
    assert not any(key in str(value) for value in rows[0])
    assert key.encode() not in database_bytes()


def test_a_key_authenticates_its_agent_with_its_role():
    agent_key = agents.add("li.wei", "李伟", "agent")
    boss_key = agents.add("wang.fang", "王芳", "supervisor")
    agent = agents.authenticate(agent_key).agent
    boss = agents.authenticate(boss_key).agent
    assert (agent.agent_id, agent.name, agent.role, agent.supervisor) == ("li.wei", "李伟", "agent", False)
    assert (boss.agent_id, boss.role, boss.supervisor) == ("wang.fang", "supervisor", True)
    assert agent.created_at is not None and agent.disabled_at is None


@pytest.mark.parametrize("key, error", [(None, "missing agent key"), ("", "missing agent key"),
                                        ("not-a-key", "unknown agent key")])
def test_missing_or_unknown_keys_are_refused(key, error):
    real = agents.add("li.wei", "李伟", "agent")
    found = agents.authenticate(key)
    assert found.agent is None and found.error.startswith(error)
    assert agents.authenticate(real[:-1]).error == "unknown agent key"  # near misses too


def test_a_disabled_agent_is_refused_and_keeps_their_row():
    key = agents.add("li.wei", "李伟", "agent")
    assert agents.disable("li.wei") is True
    found = agents.authenticate(key)
    assert found.agent is None and found.error == "agent li.wei is disabled"
    row = agents.get("li.wei")
    assert row.disabled and row.disabled_at is not None
    assert agents.disable("nobody") is False


@pytest.mark.parametrize("agent_id, name, role", [("li wei", "李伟", "agent"), ("", "李伟", "agent"),
                                                  ("x" * 65, "李伟", "agent"), ("li.wei", "", "agent"),
                                                  ("li.wei", "李伟", "admin")])
def test_bad_agents_are_refused(agent_id, name, role):
    with pytest.raises(agents.AgentError):
        agents.add(agent_id, name, role)
    assert agents.all_agents() == []


def test_an_agent_id_is_added_once():
    agents.add("li.wei", "李伟", "agent")
    with pytest.raises(agents.AgentError, match="already exists"):
        agents.add("li.wei", "Someone else", "supervisor")
    assert agents.get("li.wei").role == "agent"


def test_demo_agents_exist_only_in_demo_mode_and_take_this_starts_keys(monkeypatch):
    first = {"demo-agent": agents.new_key(), "demo-supervisor": agents.new_key()}
    value = ",".join(f"{a}:{k}" for a, k in first.items())
    monkeypatch.setenv("ANXIN_DEMO_MODE", "0")
    assert agents.ensure_demo_agents(value) == [] and agents.all_agents() == []
    monkeypatch.setenv("ANXIN_DEMO_MODE", "1")
    assert agents.ensure_demo_agents(value) == ["demo-agent", "demo-supervisor"]
    assert agents.authenticate(first["demo-agent"]).agent.role == "agent"
    assert agents.authenticate(first["demo-supervisor"]).agent.role == "supervisor"
    agents.disable("demo-agent")
    second = agents.new_key()
    agents.ensure_demo_agents(f"demo-agent:{second}")  # the next start: new key, enabled again
    assert agents.authenticate(second).agent.agent_id == "demo-agent"
    assert agents.authenticate(first["demo-agent"]).error == "unknown agent key"
    with pytest.raises(agents.AgentError):
        agents.ensure_demo_agents(f"boss:{second}")  # only the two demo agents, never another id


def test_command_line_add_list_disable(capsys):
    assert agents.main(["add", "li.wei", "--name", "李伟", "--role", "supervisor"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert agents.authenticate(key).agent.role == "supervisor"
    assert agents.main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "li.wei\tsupervisor\tactive" in listed and key not in listed
    assert agents.main(["disable", "li.wei"]) == 0
    assert agents.authenticate(key).agent is None
    assert agents.main(["list"]) == 0 and "li.wei\tsupervisor\tdisabled" in capsys.readouterr().out
    assert agents.main(["disable", "nobody"]) == 1
    assert agents.main(["add", "li.wei", "--name", "again"]) == 2 and "already exists" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        agents.main(["add", "x", "--name", "X", "--role", "admin"])


def test_agents_and_supervisors_have_a_team_officers_none(monkeypatch):
    monkeypatch.setenv("ANXIN_HANDOFF_TEAM", "hotline")
    agents.add("li.wei", "李伟", "agent")
    agents.add("wang.fang", "王芳", "supervisor", team="wealth")
    agents.add("zhao.min", "赵敏", "compliance", team="wealth")
    assert [(a.agent_id, a.team) for a in agents.all_agents()] == [("li.wei", "hotline"), ("wang.fang", "wealth"),
                                                                   ("zhao.min", None)]
    with pytest.raises(agents.AgentError):
        agents.add("bad.team", "某某", "agent", team="no spaces allowed")
