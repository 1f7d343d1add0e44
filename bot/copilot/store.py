"""What the copilot remembers: each analysed customer utterance of a call (for the emotion
trend) and each agent verdict on a suggestion (used / edited / rejected, to measure quality).

Stored in the compliance database (``ANXIN_AUDIT_DB_URL``), texts masked like the audit trail.
Every row names the agent whose key made the request (``bot.copilot.agents``), never an id
the client sent.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Float, Integer, String, Text, delete, func, select
from sqlalchemy.orm import declarative_base

from bot import db
from bot.compliance.masking import mask

Base = declarative_base()
VERDICTS = ("used", "edited", "rejected")
SUGGESTION_KINDS = ("reply", "knowledge", "alert")
TREND_TURNS = 20


class CopilotTurn(Base):
    __tablename__ = "copilot_turns"
    id = Column(Integer, primary_key=True, autoincrement=True)
    call_id = Column(String(128), nullable=False, index=True)
    at = Column(DateTime(timezone=True), nullable=False)
    text = Column(Text, nullable=False)
    intent = Column(String(64))
    emotion = Column(String(16))
    anxiety = Column(Float)
    agent = Column(String(64))  # nullable: turns stored before agents had their own keys name nobody
    customer_id = Column(String(64), index=True)  # the call's customer, when the agent named one


class CopilotFeedback(Base):
    __tablename__ = "copilot_feedback"
    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False)
    call_id = Column(String(128), nullable=False, index=True)
    turn_id = Column(Integer, nullable=False)
    kind = Column(String(16), nullable=False)
    verdict = Column(String(16), nullable=False)
    agent = Column(String(64), nullable=False)
    final_text = Column(Text)


def _session():
    return db.sessions(db.COMPLIANCE)()


def add_turn(call_id: str, text: str, intent: str | None, emotion: str | None, anxiety: float | None,
             agent: str, customer_id: str | None = None) -> int:
    with _session() as session:
        row = CopilotTurn(call_id=call_id, at=datetime.now(timezone.utc), text=mask(text),
                          intent=intent, emotion=emotion, anxiety=anxiety, agent=agent, customer_id=customer_id)
        session.add(row)
        session.commit()
        return row.id


def trend(call_id: str) -> list[dict]:
    """The call's emotions so far, oldest first (the last TREND_TURNS)."""
    with _session() as session:
        rows = session.scalars(select(CopilotTurn).where(CopilotTurn.call_id == call_id)
                               .order_by(CopilotTurn.id.desc()).limit(TREND_TURNS)).all()
        return [{"turn_id": r.id, "emotion": r.emotion, "anxiety": r.anxiety} for r in reversed(rows)]


def call_agent(call_id: str) -> str | None:
    """The agent who started the call (its first turn), or None for a new call: a call's turns
    and their emotions are that agent's, not every agent's."""
    with _session() as session:
        return session.scalars(select(CopilotTurn.agent).where(CopilotTurn.call_id == call_id)
                               .order_by(CopilotTurn.id).limit(1)).first()


def turn_exists(call_id: str, turn_id: int) -> bool:
    with _session() as session:
        row = session.get(CopilotTurn, turn_id)
        return row is not None and row.call_id == call_id


def add_feedback(call_id: str, turn_id: int, kind: str, verdict: str, agent: str, final_text: str | None) -> int:
    with _session() as session:
        row = CopilotFeedback(at=datetime.now(timezone.utc), call_id=call_id, turn_id=turn_id, kind=kind,
                              verdict=verdict, agent=agent, final_text=mask(final_text) if final_text else None)
        session.add(row)
        session.commit()
        return row.id


def feedback_counts() -> dict[str, dict[str, int]]:
    """{kind: {verdict: count}}: how often agents used, edited or rejected each suggestion kind."""
    with _session() as session:
        rows = session.execute(select(CopilotFeedback.kind, CopilotFeedback.verdict, func.count())
                               .group_by(CopilotFeedback.kind, CopilotFeedback.verdict)).all()
    counts: dict[str, dict[str, int]] = {}
    for kind, verdict, count in rows:
        counts.setdefault(kind, {})[verdict] = count
    return counts


def call_records(call_id: str) -> dict[str, list[dict]]:
    """A call's stored turns and feedback with the agent each names (for reviews and tests)."""
    with _session() as session:
        turns = session.scalars(select(CopilotTurn).where(CopilotTurn.call_id == call_id)
                                .order_by(CopilotTurn.id)).all()
        feedback = session.scalars(select(CopilotFeedback).where(CopilotFeedback.call_id == call_id)
                                   .order_by(CopilotFeedback.id)).all()
    return {"turns": [{"turn_id": t.id, "agent": t.agent, "intent": t.intent} for t in turns],
            "feedback": [{"id": f.id, "turn_id": f.turn_id, "kind": f.kind, "verdict": f.verdict,
                          "agent": f.agent} for f in feedback]}


def calls_about(customer_id: str) -> list[str]:
    """The calls in which an agent named this customer (bot.privacy)."""
    with _session() as session:
        return list(session.scalars(select(CopilotTurn.call_id).where(CopilotTurn.customer_id == customer_id)
                                    .distinct()).all())


def export_customer(customer_id: str) -> list[dict]:
    """The stored turns (masked text) and agents' verdicts of the calls about a customer."""
    calls = calls_about(customer_id)
    with _session() as session:
        turns = session.scalars(select(CopilotTurn).where(CopilotTurn.call_id.in_(calls))
                                .order_by(CopilotTurn.id)).all()
        feedback = session.scalars(select(CopilotFeedback).where(CopilotFeedback.call_id.in_(calls))
                                   .order_by(CopilotFeedback.id)).all()
    return ([{"call_id": t.call_id, "at": t.at.isoformat(), "text": t.text, "intent": t.intent,
              "emotion": t.emotion, "agent": t.agent} for t in turns]
            + [{"call_id": f.call_id, "feedback": f.verdict, "kind": f.kind, "text": f.final_text,
                "agent": f.agent} for f in feedback])


def erase_customer(customer_id: str) -> int:
    """Delete the turns and feedback of the calls about a customer; returns how many rows."""
    calls = calls_about(customer_id)
    with _session() as session:
        erased = session.execute(delete(CopilotFeedback).where(CopilotFeedback.call_id.in_(calls))).rowcount
        erased += session.execute(delete(CopilotTurn).where(CopilotTurn.call_id.in_(calls))).rowcount
        session.commit()
    return erased
