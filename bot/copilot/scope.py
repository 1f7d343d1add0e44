"""Which customers an agent may see, and why: the copilot's access control.

An agent sees a customer (holdings, the bot's rehearsed reply on their data, their risk level,
their handoffs, a report link) only with a *grant* for that customer:

- ``handling``: the agent claimed one of the customer's handoffs from their team's queue, or a
  supervisor of the team assigned it to them. The bot's handoff is the routed call: nobody picks
  a customer by typing an id. It lasts until released or ``ANXIN_HANDLING_HOURS``.
- ``break_glass``: the agent asked for access to a customer they are not handling, with a
  reason in words. It lasts ``ANXIN_BREAK_GLASS_MINUTES``; opening it is audited as
  ``break_glass`` with the reason, and every read under it names it.

Teams: a handoff goes to a team's queue; an agent sees the queue of their own team only.
Plain agents see its unclaimed, non-crisis entries (no customer, no summary: enough to pick one)
and claim them; a crisis handoff is seen only by the team's supervisors (who claim or assign it)
and the agent it is assigned to. A supervisor may read any handoff of their team (supervision).

Grants are rows of ``copilot_access`` in the compliance database. The customer is stored masked
(for people to read, as the handoff stores it) and as an exact keyed reference
(``bot.compliance.customer_ref``); access is decided on the reference only, since two customers
can share a mask (``demo-13800000003`` and ``demo-13899990003`` both show as ``demo-138****0003``).
A handoff stored before references, and a grant made from one, name nobody exactly: claiming it
still lets the agent read that handoff, but opens no customer's data (break-glass does, audited).

Refusals do not tell what the agent may not see: a handoff that does not exist, one of another
team and a crisis one a plain agent may not take are all answered alike (403 ``handoff_not_yours``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Column, DateTime, Integer, String, Text, select
from sqlalchemy.orm import declarative_base

from bot import db, handoff, settings
from bot.compliance.customer_ref import customer_ref
from bot.compliance.masking import mask
from bot.copilot import agents

Base = declarative_base()
HANDLING, BREAK_GLASS = "handling", "break_glass"
MIN_REASON_CHARS = 5
MAX_REASON_CHARS = 500


class AccessGrant(Base):
    __tablename__ = "copilot_access"
    id = Column(Integer, primary_key=True, autoincrement=True)
    agent = Column(String(64), nullable=False, index=True)
    customer_id = Column(String(128), nullable=False, index=True)  # masked, like the handoff's: for people
    customer_ref = Column(String(64), index=True)  # exact: what access is decided on; None opens nobody
    basis = Column(String(16), nullable=False)  # handling | break_glass
    handoff_id = Column(Integer, index=True)  # handling: the handoff claimed or assigned
    reason = Column(Text)  # break_glass: the agent's words
    granted_by = Column(String(64), nullable=False)  # the agent, or the supervisor who assigned
    granted_at = Column(DateTime(timezone=True), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    ended_at = Column(DateTime(timezone=True))


@dataclass(frozen=True)
class Grant:
    id: int
    agent: str
    customer_id: str
    basis: str
    handoff_id: int | None
    reason: str | None
    granted_by: str
    granted_at: datetime
    expires_at: datetime
    customer_ref: str | None = None

    def why(self) -> str:
        """The reason a read under this grant names in the audit trail."""
        if self.basis == BREAK_GLASS:
            return f"break-glass #{self.id}: {self.reason}"
        assigned = "" if self.granted_by == self.agent else f", assigned by {self.granted_by}"
        return f"handling handoff #{self.handoff_id}{assigned}"

    def as_dict(self) -> dict:
        return {"grant_id": self.id, "basis": self.basis, "customer_id": self.customer_id,
                "handoff_id": self.handoff_id, "reason": self.reason, "granted_by": self.granted_by,
                "expires_at": self.expires_at.isoformat()}


class ScopeError(Exception):
    """A refusal: ``status`` (403, 409, 400) and ``reason``, the key of its text in texts.yml."""

    def __init__(self, status: int, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.status, self.reason, self.values = status, reason, values


def _session():
    return db.sessions(db.COMPLIANCE)()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)  # SQLite gives naive UTC back


def _view(row: AccessGrant) -> Grant:
    return Grant(row.id, row.agent, row.customer_id, row.basis, row.handoff_id, row.reason, row.granted_by,
                 _aware(row.granted_at), _aware(row.expires_at), row.customer_ref)


def _live(query, now: datetime):
    return query.where(AccessGrant.ended_at.is_(None), AccessGrant.expires_at > now)


def active(agent_id: str, customer_id: str) -> Grant | None:
    """The agent's live grant for this customer (handling first), or None."""
    return _active(agent_id, customer_ref(customer_id))


def _active(agent_id: str, ref: str | None) -> Grant | None:
    """The agent's live grant for the customer of exact reference ``ref`` (None: nobody)."""
    if not ref:
        return None
    with _session() as session:
        rows = session.scalars(_live(select(AccessGrant), _now())
                               .where(AccessGrant.agent == agent_id, AccessGrant.customer_ref == ref)
                               .order_by(AccessGrant.id.desc())).all()
    rows = sorted(rows, key=lambda r: r.basis != HANDLING)
    return _view(rows[0]) if rows else None


def mine(agent_id: str) -> list[Grant]:
    """The agent's live grants, newest first (the customers they may open now)."""
    with _session() as session:
        rows = session.scalars(_live(select(AccessGrant), _now()).where(AccessGrant.agent == agent_id)
                               .order_by(AccessGrant.id.desc())).all()
        return [_view(r) for r in rows]


def holders(handoff_ids: list[int]) -> dict[int, Grant]:
    """{handoff id: the live handling grant of whoever has it}."""
    if not handoff_ids:
        return {}
    with _session() as session:
        rows = session.scalars(_live(select(AccessGrant), _now())
                               .where(AccessGrant.basis == HANDLING, AccessGrant.handoff_id.in_(handoff_ids))).all()
        return {r.handoff_id: _view(r) for r in rows}


def not_yours(handoff_id: int) -> ScopeError:
    """The one refusal for a handoff the agent may not have, whether it exists or not."""
    return ScopeError(403, "handoff_not_yours", id=handoff_id)


def _team_handoff(agent: agents.Agent, handoff_id: int) -> handoff.Handoff:
    found = handoff.get(handoff_id)
    if found is None or found.team != agent.team:
        raise not_yours(handoff_id)  # missing or another team's: answered alike
    return found


def _grant_handling(found: handoff.Handoff, agent_id: str, granted_by: str) -> Grant:
    now = _now()
    with _session() as session:
        for row in session.scalars(_live(select(AccessGrant), now).where(AccessGrant.basis == HANDLING,
                                                                         AccessGrant.handoff_id == found.id)):
            row.ended_at = now  # an assignment takes the handoff from whoever had it
        row = AccessGrant(agent=agent_id, customer_id=found.customer_id, customer_ref=found.customer_ref,
                          basis=HANDLING, handoff_id=found.id,
                          granted_by=granted_by, granted_at=now,
                          expires_at=now + timedelta(hours=settings.handling_hours()))
        session.add(row)
        session.commit()
        return _view(row)


def claim(agent: agents.Agent, handoff_id: int) -> tuple[Grant, handoff.Handoff]:
    """The agent takes a handoff of their team's queue. A crisis handoff only a supervisor may
    take (or assign): a plain agent is refused as for a handoff that does not exist, since crises
    are not in their queue. One another agent is handling is refused (409)."""
    found = _team_handoff(agent, handoff_id)
    holder = holders([handoff_id]).get(handoff_id)
    if found.urgent and not agent.supervisor and (holder is None or holder.agent != agent.agent_id):
        raise not_yours(handoff_id)
    if holder is not None and holder.agent != agent.agent_id:
        raise ScopeError(409, "handoff_taken", id=handoff_id, agent=holder.agent)
    if holder is not None:
        return holder, found
    return _grant_handling(found, agent.agent_id, agent.agent_id), found


def assign(supervisor: agents.Agent, handoff_id: int, agent_id: str) -> tuple[Grant, handoff.Handoff]:
    """A supervisor gives a handoff of their team to an agent of their team (also a crisis one)."""
    if not supervisor.supervisor:
        raise ScopeError(403, "supervisors_assign")
    found = _team_handoff(supervisor, handoff_id)
    target = agents.get(agent_id) if isinstance(agent_id, str) else None
    if target is None or target.disabled or target.team != supervisor.team:
        raise ScopeError(400, "no_such_agent_in_team", agent=agent_id)
    return _grant_handling(found, target.agent_id, supervisor.agent_id), found


def release(agent: agents.Agent, handoff_id: int) -> bool:
    """The agent is done with a handoff: their grant for it ends now. False when they had none."""
    now = _now()
    with _session() as session:
        rows = session.scalars(_live(select(AccessGrant), now).where(
            AccessGrant.basis == HANDLING, AccessGrant.handoff_id == handoff_id,
            AccessGrant.agent == agent.agent_id)).all()
        for row in rows:
            row.ended_at = now
        session.commit()
        return bool(rows)


def _visible(text: str) -> str:
    """``text`` without format and control characters (zero-width spaces, direction marks)."""
    return "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Cc"))


# Letters that draw nothing (Hangul fillers): Unicode calls them letters, a reader sees a blank.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
MIN_DISTINCT_REASON_CHARS = 3


def _word_chars(text: str) -> int:
    """Letters (Chinese characters included) and digits: what makes a reason words. Blank
    letters do not count, nor a single character repeated ("ーーーーー", "々々々々々"): fewer than
    three different ones count as none."""
    letters = [c for c in text if unicodedata.category(c)[0] in "LN" and c not in _BLANK_LETTERS]
    return len(letters) if len(set(letters)) >= MIN_DISTINCT_REASON_CHARS else 0


def clean_reason(reason: object) -> str:
    """The break-glass reason as stored, or ScopeError: words are required, not a token gesture.
    Spaces, punctuation and invisible characters do not count: "....." or five zero-width
    spaces are no reason."""
    if not isinstance(reason, str):
        raise ScopeError(400, "reason_required", chars=MIN_REASON_CHARS)
    if len(reason) > MAX_REASON_CHARS:
        raise ScopeError(400, "reason_too_long", chars=MAX_REASON_CHARS)
    visible = _visible(reason)
    if _word_chars(visible) < MIN_REASON_CHARS:
        raise ScopeError(400, "reason_required", chars=MIN_REASON_CHARS)
    return " ".join(visible.split())


def break_glass(agent: agents.Agent, customer_id: str, reason: object) -> Grant:
    """Time-limited access to a customer the agent is not handling; the caller audits it."""
    words = clean_reason(reason)
    now = _now()
    with _session() as session:
        row = AccessGrant(agent=agent.agent_id, customer_id=mask(customer_id), customer_ref=customer_ref(customer_id),
                          basis=BREAK_GLASS,
                          reason=mask(words), granted_by=agent.agent_id, granted_at=now,
                          expires_at=now + timedelta(minutes=settings.break_glass_minutes()))
        session.add(row)
        session.commit()
        return _view(row)


def queue_visible(agent: agents.Agent, found: handoff.Handoff, holder: Grant | None) -> bool:
    """Whether the handoff appears in the agent's queue at all (without its summary)."""
    if found.team != agent.team:
        return False
    if agent.supervisor or (holder is not None and holder.agent == agent.agent_id):
        return True
    return not found.urgent and holder is None  # open, not a crisis: anyone of the team may claim it


def handoff_reader(agent: agents.Agent, found: handoff.Handoff) -> str:
    """Why the agent may read this handoff's summary (for the audit record), else ScopeError 403:
    the agent handling it; a supervisor of its team; break-glass on its customer, but a crisis
    handoff only for the agent it is assigned to and the team's supervisors."""
    holder = holders([found.id]).get(found.id)
    if holder is not None and holder.agent == agent.agent_id:
        return holder.why()
    if agent.supervisor and found.team == agent.team:
        return f"supervisor of team {agent.team}"
    if not found.urgent:  # break-glass on exactly this handoff's customer (a mask names nobody)
        grant = _active(agent.agent_id, found.customer_ref)
        if grant is not None and grant.basis == BREAK_GLASS:
            return grant.why()
    raise not_yours(found.id)


def customer_grant(agent: agents.Agent, customer_id: str) -> Grant:
    """The grant under which the agent may see this customer now, else ScopeError 403."""
    grant = active(agent.agent_id, customer_id)
    if grant is None:
        raise ScopeError(403, "not_handling", customer=customer_id)
    return grant


def end(grant_id: int) -> None:
    """End a grant now (break-glass access whose opening could not be audited)."""
    with _session() as session:
        row = session.get(AccessGrant, grant_id)
        if row is not None and row.ended_at is None:
            row.ended_at = _now()
            session.commit()
