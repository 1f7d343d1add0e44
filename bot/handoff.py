"""Handoff summaries: what a person taking over the conversation needs to know at a glance.

Every handoff (asked for, after a complaint, after two distressed or angry messages) stores a
summary: why, what the customer asked for (intents), what the bot answered, and the emotion
trend. The agent copilot reads them; the customer never has to repeat themselves. Stored in
the compliance database (``ANXIN_AUDIT_DB_URL``) with personal numbers masked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Integer, String, Text, select
from sqlalchemy.orm import declarative_base

from bot import db
from bot.compliance.masking import mask

Base = declarative_base()
RECENT = 10
ANSWER_CHARS = 160


class HandoffRecord(Base):
    __tablename__ = "handoffs"
    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False)
    customer_id = Column(String(128), nullable=False, index=True)
    reason = Column(String(32), nullable=False)
    summary = Column(Text, nullable=False)  # JSON


@dataclass(frozen=True)
class Handoff:
    id: int
    at: datetime
    customer_id: str
    reason: str
    summary: dict


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


def record(customer_id: str, summary: dict) -> int:
    with _session() as session:
        row = HandoffRecord(at=datetime.now(timezone.utc), customer_id=mask(customer_id),
                            reason=summary["reason"], summary=json.dumps(summary, ensure_ascii=False))
        session.add(row)
        session.commit()
        return row.id


def recent(customer_id: str | None = None, limit: int = 50) -> list[Handoff]:
    """Newest first; for one customer, or for everyone (the copilot's queue)."""
    with _session() as session:
        query = select(HandoffRecord).order_by(HandoffRecord.id.desc()).limit(limit)
        if customer_id is not None:
            query = query.where(HandoffRecord.customer_id == mask(customer_id))
        return [Handoff(r.id, r.at, r.customer_id, r.reason, json.loads(r.summary))
                for r in session.scalars(query).all()]
