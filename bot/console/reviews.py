"""The compliance officer's review marks on guard blocks, kept apart from the audit trail.

A guard block is an audit record (kind ``guard_block``); the trail is append-only and signed,
so a review can never be written into it. A review is a row of its own naming the record by id:
who reviewed it, when, the verdict (was the block right, a false alarm of the rules, or does it
need following up) and a note. One review per record: a second one is refused, so a verdict
cannot be quietly replaced; a wrong one stays visible next to the record it concerns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Integer, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import declarative_base

from bot import db
from bot.compliance.audit import AuditRecord
from bot.compliance.masking import mask

Base = declarative_base()
VERDICTS = ("correct_block", "false_alarm", "follow_up")
MAX_NOTE_CHARS = 2000


class ReviewError(ValueError):
    """A review the console refuses; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ReviewRow(Base):
    __tablename__ = "console_reviews"
    id = Column(Integer, primary_key=True, autoincrement=True)
    audit_id = Column(Integer, nullable=False, unique=True, index=True)  # the guard_block record reviewed
    verdict = Column(String(16), nullable=False)
    note = Column(Text)
    officer = Column(String(64), nullable=False)
    at = Column(DateTime(timezone=True), nullable=False)


@dataclass(frozen=True)
class Review:
    audit_id: int
    verdict: str
    note: str | None
    officer: str
    at: datetime

    def as_dict(self) -> dict:
        return {"audit_id": self.audit_id, "verdict": self.verdict, "note": self.note, "officer": self.officer,
                "at": self.at.isoformat()}


def _session():
    return db.sessions(db.COMPLIANCE)()


def _view(row: ReviewRow) -> Review:
    return Review(row.audit_id, row.verdict, row.note, row.officer, row.at)


def add(audit_id: int, verdict: str, officer: str, note: str | None = None) -> Review:
    """Mark the guard block ``audit_id`` as reviewed by ``officer``. Refused (ReviewError) for an
    unknown verdict, a record that is not a guard block, or one already reviewed."""
    if verdict not in VERDICTS:
        raise ReviewError(400, f'"verdict" must be one of {", ".join(VERDICTS)}')
    note = mask(note.strip()) if note and note.strip() else None  # an officer may paste a card number
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise ReviewError(413, f'"note" is longer than {MAX_NOTE_CHARS} characters')
    with _session() as session:
        record = session.get(AuditRecord, audit_id)
        if record is None or record.kind != "guard_block":
            raise ReviewError(404, f"no guard block with audit id {audit_id}")
        row = ReviewRow(audit_id=audit_id, verdict=verdict, note=note, officer=officer,
                        at=datetime.now(timezone.utc))
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            earlier = session.scalars(select(ReviewRow).where(ReviewRow.audit_id == audit_id)).one()
            raise ReviewError(409, f"audit record {audit_id} was reviewed by {earlier.officer} at "
                                   f"{earlier.at.isoformat()}") from None
        return _view(row)


def of(audit_ids: Iterable[int]) -> dict[int, Review]:
    """The reviews of these records, by audit id."""
    ids = list(audit_ids)
    if not ids:
        return {}
    with _session() as session:
        return {row.audit_id: _view(row)
                for row in session.scalars(select(ReviewRow).where(ReviewRow.audit_id.in_(ids)))}
