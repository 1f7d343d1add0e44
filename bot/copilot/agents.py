"""The copilot's agents: who may call its API, each with a key of their own.

Stored in the compliance database (``ANXIN_AUDIT_DB_URL``) beside the copilot's turns and
feedback. A key is 32 random bytes (URL-safe text), shown once when the agent is added; only
its SHA-256 is kept, so the database never holds a usable key. Roles: ``agent`` (analyse
calls, check drafts, give feedback, take handoffs), ``supervisor`` (also reads the feedback
summary) and ``compliance`` (a compliance officer: the compliance console, ``bot.console``,
and nothing of the copilot: whoever reviews the agents' work does not do it, and a console key
that leaked would not open customer calls). The copilot's ``authenticate`` refuses an
officer's key; the console asks with ``roles=ROLES`` and refuses every role but ``compliance``.
A disabled agent's key stops working at once; the row stays, so records that name the agent
keep meaning something.

Agents and supervisors belong to a team (``--team``, default ``ANXIN_HANDOFF_TEAM``): they see
that team's handoff queue, and a customer only while handling them (``bot.copilot.scope``).

    python -m bot.copilot.agents add <agent_id> --name "..." --role agent|supervisor|compliance [--team T]
                                                # prints the key once
    python -m bot.copilot.agents disable <agent_id>
    python -m bot.copilot.agents list

Demo mode only (``ANXIN_DEMO_MODE``): ``bot.servers`` makes a key per demo agent and start and
passes them as ``ANXIN_DEMO_AGENT_KEYS="demo-agent:<key>,demo-supervisor:<key>,demo-compliance:<key>"``;
the copilot creates or updates those agents with them (``ensure_demo_agents``).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import re
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Boolean, Column, DateTime, String, select
from sqlalchemy.orm import declarative_base

from bot import db, settings

Base = declarative_base()
ROLES = ("agent", "supervisor", "compliance")
COPILOT_ROLES = ("agent", "supervisor")  # the roles whose keys open the copilot
AGENT_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}\Z")
KEY_BYTES = 32
DEMO_AGENTS = {"demo-agent": ("Demo agent 演示坐席", "agent"),  # both in the default team (one queue)
               "demo-supervisor": ("Demo supervisor 演示主管", "supervisor"),
               "demo-compliance": ("Demo compliance officer 演示合规专员", "compliance")}
DEMO_KEYS_ENV = "ANXIN_DEMO_AGENT_KEYS"


class AgentError(ValueError):
    """A request the agent registry refuses; the message says why."""


class AgentRow(Base):
    __tablename__ = "copilot_agents"
    agent_id = Column(String(64), primary_key=True)
    name = Column(String(128), nullable=False)
    role = Column(String(16), nullable=False)
    key_sha256 = Column(String(64), nullable=False, unique=True, index=True)
    disabled = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    disabled_at = Column(DateTime(timezone=True))
    team = Column(String(64))  # None: added before teams (the default team's) or an officer


@dataclass(frozen=True)
class Agent:
    agent_id: str
    name: str
    role: str
    disabled: bool
    created_at: datetime
    disabled_at: datetime | None
    team: str | None = None  # agents and supervisors always have one; officers none

    @property
    def supervisor(self) -> bool:
        return self.role == "supervisor"

    @property
    def compliance_officer(self) -> bool:
        return self.role == "compliance"


@dataclass(frozen=True)
class Authentication:
    """The outcome of presenting a key: the agent, or why there is none."""

    agent: Agent | None
    error: str | None = None


def _session():
    return db.sessions(db.COMPLIANCE)()


def _view(row: AgentRow) -> Agent:
    team = row.team or (settings.handoff_team() if row.role in COPILOT_ROLES else None)
    return Agent(row.agent_id, row.name, row.role, bool(row.disabled), row.created_at, row.disabled_at,
                 team if row.role in COPILOT_ROLES else None)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def _team(role: str, team: str | None) -> str | None:
    """The team stored for a new agent: the one given, else the default; officers have none."""
    if role not in COPILOT_ROLES:
        return None
    team = (team or "").strip() or settings.handoff_team()
    if not AGENT_ID.match(team):
        raise AgentError("team: 1-64 letters, digits or _.@-")
    return team


def _check(agent_id: str, name: str, role: str) -> None:
    if not isinstance(agent_id, str) or not AGENT_ID.match(agent_id):
        raise AgentError("agent id: 1-64 letters, digits or _.@-")
    if not name or not name.strip() or len(name) > 128:
        raise AgentError("name: 1-128 characters")
    if role not in ROLES:
        raise AgentError(f"role must be one of {ROLES}")


def add(agent_id: str, name: str, role: str, team: str | None = None) -> str:
    """Register a new agent; returns the key (the only time it exists outside the agent's hands)."""
    _check(agent_id, name, role)
    team = _team(role, team)
    key = new_key()
    with _session() as session:
        if session.get(AgentRow, agent_id) is not None:
            raise AgentError(f"agent {agent_id} already exists")
        session.add(AgentRow(agent_id=agent_id, name=name.strip(), role=role, key_sha256=key_hash(key),
                             disabled=False, created_at=datetime.now(timezone.utc), team=team))
        session.commit()
    return key


def set_key(agent_id: str, name: str, role: str, key: str, team: str | None = None) -> None:
    """Create or update an agent with the given key, enabled (the demo agents of each start)."""
    _check(agent_id, name, role)
    team = _team(role, team)
    if len(key) < 32:
        raise AgentError("a key needs at least 32 characters")
    with _session() as session:
        row = session.get(AgentRow, agent_id)
        if row is None:
            row = AgentRow(agent_id=agent_id, created_at=datetime.now(timezone.utc))
            session.add(row)
        row.name, row.role, row.key_sha256, row.disabled, row.disabled_at = name, role, key_hash(key), False, None
        row.team = team
        session.commit()


def disable(agent_id: str) -> bool:
    """Disable an agent's key; False when there is no such agent."""
    with _session() as session:
        row = session.get(AgentRow, agent_id)
        if row is None:
            return False
        if not row.disabled:
            row.disabled, row.disabled_at = True, datetime.now(timezone.utc)
            session.commit()
        return True


def get(agent_id: str) -> Agent | None:
    with _session() as session:
        row = session.get(AgentRow, agent_id)
        return _view(row) if row is not None else None


def all_agents() -> list[Agent]:
    with _session() as session:
        return [_view(row) for row in session.scalars(select(AgentRow).order_by(AgentRow.agent_id))]


def authenticate(key: str | None, roles: tuple[str, ...] = COPILOT_ROLES) -> Authentication:
    """The agent whose key this is, if their role is one of ``roles`` (by default the copilot's:
    a compliance officer's key does not open it). Only the key's SHA-256 is looked up and
    compared (in constant time), so the lookup reveals nothing usable about any stored key."""
    if not key:
        return Authentication(None, "missing agent key (Authorization: Bearer <agent key>)")
    digest = key_hash(key)
    with _session() as session:
        row = session.scalars(select(AgentRow).where(AgentRow.key_sha256 == digest)).first()
        if row is None or not hmac.compare_digest(row.key_sha256.encode(), digest.encode()):
            return Authentication(None, "unknown agent key")
        agent = _view(row)
    if agent.disabled:
        return Authentication(None, f"agent {agent.agent_id} is disabled")
    if agent.role not in roles:
        return Authentication(None, f"{agent.agent_id} has the role {agent.role}, which may not use this service")
    return Authentication(agent)


def parse_demo_keys(value: str) -> dict[str, str]:
    """``"demo-agent:<key>,demo-supervisor:<key>,..."`` -> {agent id: key}; only the demo agents."""
    keys: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (value or "").split(","))):
        agent_id, _, key = part.partition(":")
        if agent_id not in DEMO_AGENTS or not key:
            raise AgentError(f"{DEMO_KEYS_ENV}: expected <demo agent>:<key>,... with demo agents "
                             f"{', '.join(DEMO_AGENTS)}")
        keys[agent_id] = key
    return keys


def ensure_demo_agents(value: str) -> list[str]:
    """Demo mode only: create or update the demo agents with this start's keys; their ids."""
    if not settings.demo_mode():
        return []
    keys = parse_demo_keys(value)
    for agent_id, key in keys.items():
        name, role = DEMO_AGENTS[agent_id]
        set_key(agent_id, name, role, key)
    return sorted(keys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.copilot.agents",
                                     description="Manage the staff keys: agents and supervisors (the copilot), "
                                                 "compliance officers (the compliance console).")
    commands = parser.add_subparsers(dest="command", required=True)
    adding = commands.add_parser("add", help="add an agent and print their key (shown once)")
    adding.add_argument("agent_id")
    adding.add_argument("--name", required=True)
    adding.add_argument("--role", choices=ROLES, default="agent")
    adding.add_argument("--team", help="the agent's team (default: ANXIN_HANDOFF_TEAM); officers have none")
    disabling = commands.add_parser("disable", help="disable an agent's key")
    disabling.add_argument("agent_id")
    commands.add_parser("list", help="list the agents (never their keys)")
    args = parser.parse_args(argv)
    try:
        if args.command == "add":
            key = add(args.agent_id, args.name, args.role, args.team)
            print(f"Added {args.agent_id} ({args.role}). Their key, shown only now:\n{key}")
        elif args.command == "disable":
            if not disable(args.agent_id):
                print(f"no agent {args.agent_id}", file=sys.stderr)
                return 1
            print(f"Disabled {args.agent_id}.")
        else:
            for agent in all_agents():
                state = f"disabled {agent.disabled_at:%Y-%m-%d %H:%M}" if agent.disabled else "active"
                print(f"{agent.agent_id}\t{agent.role}\t{state}\tsince {agent.created_at:%Y-%m-%d}\t{agent.name}"
                      f"\tteam {agent.team or '-'}")
    except AgentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
