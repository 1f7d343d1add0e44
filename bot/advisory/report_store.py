"""Generated allocation reports, stored in the bank schema so any replica serves any link.

A report is kept until it expires (the link's lifetime); ``purge_expired`` removes the expired
ones. Reading needs only SQLAlchemy: the Rasa server can serve a report without reportlab.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete

from bot import db
from bot.advisory.tables import ReportRow


@dataclass(frozen=True)
class StoredReport:
    id: str
    customer_id: str
    language: str
    created_at: datetime
    expires_at: datetime
    html: str
    pdf: bytes


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC


def new_id() -> str:
    """128 random bits: a report cannot be found by guessing, even before the signature."""
    return secrets.token_hex(16)


def save(report_id: str, customer_id: str, language: str, created_at: datetime, expires_at: datetime,
         html: str, pdf: bytes) -> None:
    with db.sessions(db.BANK)() as session:
        session.add(ReportRow(id=report_id, customer_id=customer_id, language=language, created_at=created_at,
                              expires_at=expires_at, html=html, pdf=pdf))
        session.commit()


def find(report_id: str) -> StoredReport | None:
    with db.sessions(db.BANK)() as session:
        row = session.get(ReportRow, report_id)
        if row is None:
            return None
        return StoredReport(row.id, row.customer_id, row.language, _utc(row.created_at), _utc(row.expires_at),
                            row.html, bytes(row.pdf))


def purge_expired(now: datetime | None = None) -> int:
    """Delete the reports whose links have expired; returns how many."""
    with db.sessions(db.BANK)() as session:
        removed = session.execute(delete(ReportRow).where(ReportRow.expires_at <= (now or datetime.now(timezone.utc))))
        session.commit()
        return removed.rowcount
