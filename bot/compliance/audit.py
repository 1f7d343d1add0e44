"""Append-only audit trail of product suggestions, warnings, mismatches, handoffs and guard blocks.

A reviewer must be able to reconstruct every suggestion (rule 6): who, when, which products
and their R-levels, the customer's C-level, the warning text shown and the emotion state.
Records are never updated or deleted: the ORM refuses, the database refuses (triggers on
SQLite and PostgreSQL), and each record carries a SHA-256 chained to the previous one, so
any later change is detectable with ``verify()``. Personal numbers are masked before storage.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Integer, String, Text, event, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import declarative_base

from bot import db, settings
from bot.compliance.masking import mask

Base = declarative_base()
KINDS = ("suggestion", "warning", "mismatch", "handoff", "guard_block", "assessment", "binding", "unbinding",
         "erasure")
GENESIS = "0" * 64


class AuditRecord(Base):
    __tablename__ = "audit_events"
    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False)
    customer_id = Column(String(128), nullable=False, index=True)
    kind = Column(String(32), nullable=False)
    c_level = Column(String(4))
    products = Column(Text, nullable=False, default="[]")  # JSON [{"id": ..., "risk": ...}]
    warning_text = Column(Text)
    emotion = Column(String(32))
    detail = Column(Text)
    prev_hash = Column(String(64), nullable=False, unique=True)  # unique: one linear chain
    hash = Column(String(64), nullable=False)


@event.listens_for(AuditRecord, "before_update")
@event.listens_for(AuditRecord, "before_delete")
def _refuse_change(*_: object) -> None:
    raise PermissionError("the audit trail is append-only")


_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION 'audit trail is append-only'; END; $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS audit_no_change ON audit_events",
        "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
    ],
}


@event.listens_for(AuditRecord.__table__, "after_create")
def _create_triggers(table, connection, **_: object) -> None:
    for statement in _TRIGGERS.get(connection.dialect.name, []):
        connection.execute(text(statement))


@dataclass(frozen=True)
class Entry:
    """An audit record as read back."""

    id: int
    at: datetime
    customer_id: str
    kind: str
    c_level: str | None
    products: list[dict]
    warning_text: str | None
    emotion: str | None
    detail: str | None


_writer = threading.Lock()  # threads of one process queue here instead of racing for the head


def _session():
    return db.sessions(settings.audit_db_url(), Base.metadata)()


def _lock_chain_head(session) -> None:
    """Take the database's write lock before reading the chain head, so another process (the
    Rasa server and the action server both append) cannot append between read and insert.
    SQLite: BEGIN IMMEDIATE waits (busy timeout) for the single writer slot. PostgreSQL: a
    transaction-scoped advisory lock. Other databases fall back to the unique prev_hash retry."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(4242)"))


def _digest(prev_hash: str, fields: dict) -> str:
    canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _fields(record: AuditRecord) -> dict:
    return {"at": record.at.replace(tzinfo=None).isoformat(), "customer_id": record.customer_id,
            "kind": record.kind, "c_level": record.c_level, "products": record.products,
            "warning_text": record.warning_text, "emotion": record.emotion, "detail": record.detail}


def record(customer_id: str, kind: str, *, c_level: str | None = None, products: list[dict] | None = None,
           warning_text: str | None = None, emotion: str | None = None, detail: str | None = None) -> int:
    """Append one record; returns its id. Writers are serialised (see ``_lock_chain_head``); the
    unique ``prev_hash`` is the last line of defence and turns a lost race into a retry."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit kind {kind!r}")
    for _ in range(20):
        with _writer, _session() as session:
            _lock_chain_head(session)
            head = session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).first()
            prev_hash = head.hash if head else GENESIS
            entry = AuditRecord(at=datetime.now(timezone.utc), customer_id=mask(customer_id), kind=kind,
                                c_level=c_level, products=json.dumps(products or [], ensure_ascii=False),
                                warning_text=mask(warning_text), emotion=emotion, detail=mask(detail),
                                prev_hash=prev_hash)
            entry.hash = _digest(prev_hash, _fields(entry))
            session.add(entry)
            try:
                session.commit()
                return entry.id
            except IntegrityError:
                session.rollback()
    raise RuntimeError("could not append to the audit trail (too much contention)")


def history(customer_id: str) -> list[Entry]:
    """Every record about one customer, oldest first."""
    with _session() as session:
        rows = session.scalars(select(AuditRecord).where(AuditRecord.customer_id == mask(customer_id))
                               .order_by(AuditRecord.id)).all()
        return [Entry(r.id, r.at, r.customer_id, r.kind, r.c_level, json.loads(r.products), r.warning_text,
                      r.emotion, r.detail) for r in rows]


def verify() -> tuple[int, list[int]]:
    """Recompute the hash chain; returns (records checked, ids whose hash or link is wrong)."""
    broken: list[int] = []
    with _session() as session:
        rows = session.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
        expected_prev = GENESIS
        for row in rows:
            if row.prev_hash != expected_prev or row.hash != _digest(row.prev_hash, _fields(row)):
                broken.append(row.id)
            expected_prev = row.hash
        return len(rows), broken
