"""Handoff summaries: what a person taking over the conversation needs to know at a glance.

Every handoff (asked for, after a complaint, after two distressed or angry messages) stores a
summary: why, what the customer asked for (intents), what the bot answered, and the emotion
trend. The agent copilot reads them; the customer never has to repeat themselves. Stored in
the compliance database (``ANXIN_AUDIT_DB_URL``) with personal numbers masked.

The customer is stored twice: masked, for people to read, and as an exact keyed reference
(``bot.compliance.customer_ref``), since two customers can share a mask. Claiming a handoff gives
access to the customer its reference names; a handoff stored before references (NULL) gives
access to nobody's data.

Each handoff goes to a team's queue (``ANXIN_HANDOFF_TEAM``); who of the team may see it, and
when, is ``bot.copilot.scope``'s business: a summary is customer data, read only by the agent
handling it or the team's supervisors, and audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Integer, String, Text, and_, or_, select
from sqlalchemy.orm import declarative_base

from bot import db, settings
from bot.compliance.customer_ref import customer_ref
from bot.compliance.masking import mask

Base = declarative_base()
RECENT = 10
ANSWER_CHARS = 160


class HandoffRecord(Base):
    __tablename__ = "handoffs"
    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False)
    customer_id = Column(String(128), nullable=False, index=True)  # masked: for people to read
    customer_ref = Column(String(64), index=True)  # exact (customer_ref); None: stored before references
    reason = Column(String(32), nullable=False)
    summary = Column(Text, nullable=False)  # JSON
    team = Column(String(64))  # the queue it went to; None: stored before teams, the default team's


@dataclass(frozen=True)
class Handoff:
    id: int
    at: datetime
    customer_id: str
    reason: str
    summary: dict
    team: str = ""
    customer_ref: str | None = None  # None: stored before references, names nobody exactly

    @property
    def urgent(self) -> bool:
        """A customer in crisis: seen only by the team's supervisors and the agent assigned."""
        return bool(self.summary.get("urgent", False))


def _session():
    return db.sessions(db.COMPLIANCE)()


def summarize(events: list[dict], slots: dict, reason: str) -> dict:
    """A summary from the tracker's events and slots (rasa-sdk dicts)."""
    intents = [e["parse_data"]["intent"].get("name") for e in events
               if e.get("event") == "user" and (e.get("parse_data") or {}).get("intent")]
    answers = [mask(e["text"])[:ANSWER_CHARS] for e in events if e.get("event") == "bot" and e.get("text")]
    customer_said = [mask(e["text"])[:ANSWER_CHARS] for e in events if e.get("event") == "user" and e.get("text")]
    return {"reason": reason, "language": slots.get("language"), "intents": intents[-RECENT:],
            "customer_said": customer_said[-3:], "answered": answers[-RECENT:],
            "emotion_trend": list(slots.get("emotion_trend") or [])[-RECENT:],
            "emotion": slots.get("emotion"), "anxiety": slots.get("anxiety")}


def _view(row: HandoffRecord) -> Handoff:
    return Handoff(row.id, row.at, row.customer_id, row.reason, json.loads(row.summary),
                   row.team or settings.handoff_team(), row.customer_ref)


def of_customer(customer_id: str):
    """The condition selecting this customer's handoffs: by exact reference, and those stored
    before references by their masked id (which may be another customer's with the same mask;
    such a handoff is listed, but gives nobody access: ``bot.copilot.scope``)."""
    return or_(HandoffRecord.customer_ref == customer_ref(customer_id),
               and_(HandoffRecord.customer_ref.is_(None), HandoffRecord.customer_id == mask(customer_id)))


def exactly_of(customer_ids: list[str]):
    """The condition selecting handoffs that are certainly these customers': by exact reference,
    or stored before references under an id the mask left unchanged. For export and erasure,
    where a legacy handoff of another customer with the same mask must be neither handed out
    nor deleted."""
    return or_(HandoffRecord.customer_ref.in_([customer_ref(c) for c in customer_ids]),
               and_(HandoffRecord.customer_ref.is_(None),
                    HandoffRecord.customer_id.in_([c for c in customer_ids if mask(c) == c])))


def record(customer_id: str, summary: dict, team: str | None = None) -> int:
    with _session() as session:
        row = HandoffRecord(at=datetime.now(timezone.utc), customer_id=mask(customer_id),
                            customer_ref=customer_ref(customer_id),
                            reason=summary["reason"], summary=json.dumps(summary, ensure_ascii=False),
                            team=team or settings.handoff_team())
        session.add(row)
        session.commit()
        return row.id


def recent(customer_id: str | None = None, limit: int = 50, team: str | None = None) -> list[Handoff]:
    """Newest first; for one customer, or for everyone, or for one team's queue (the copilot's)."""
    with _session() as session:
        query = select(HandoffRecord).order_by(HandoffRecord.id.desc()).limit(limit)
        if customer_id is not None:
            query = query.where(of_customer(customer_id))
        if team is not None:
            mine = HandoffRecord.team == team
            if team == settings.handoff_team():  # handoffs stored before teams are the default team's
                mine = or_(mine, HandoffRecord.team.is_(None))
            query = query.where(mine)
        return [_view(r) for r in session.scalars(query).all()]


def get(handoff_id: int) -> Handoff | None:
    with _session() as session:
        row = session.get(HandoffRecord, handoff_id)
        return _view(row) if row is not None else None
