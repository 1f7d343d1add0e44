"""Append-only audit trail of product suggestions, warnings, mismatches, handoffs, guard blocks,
refused edits of the compliance rules file, and staff reads of customer data (``console_read``
by compliance officers, ``agent_read`` by agents, ``break_glass`` when an agent opens access to
a customer they are not handling), and the action server's reads of customer data and moves of
their money (``customer_data``) and the calls it refused (``action_refused``,
bot/conversation_check.py, bot/action_server.py).

A reviewer must be able to reconstruct every suggestion (rule 6): who, when, which products
and their R-levels, the customer's C-level, the warning text shown, the emotion state and the
version of the compliance rules in force. Records are never updated or deleted: the ORM
refuses, the database refuses (triggers on SQLite and PostgreSQL, made by the compliance
schema's migrations in bot/migrations). Someone with rights on the database can still get past
both, so the trail also proves itself:

- each record's hash is an HMAC-SHA256 over the previous hash and the record's fields (its id,
  a position 1, 2, 3, ...), under a key the database never holds (``settings.audit_key``); a
  record cannot be edited, inserted or removed and the chain recomputed without that key;
- signed checkpoints ("anchors": count, head hash, last id, time, rules version) go to an
  append-only file outside the database (``settings.audit_anchors_path``) after every N records
  and on demand, so deleting the newest records or swapping the whole table shows too;
- ``verify()`` recomputes the chain and checks it against the anchors.

Personal numbers are masked before storage. Masks are lossy (two customers can share one), so
records since revision compliance_0006 also carry the customer's exact keyed reference
(``customer_ref``, bot/compliance/customer_ref.py), part of the record's hash when set; older
records have none and are found by their masked id, so a search by customer lists them for every
customer of that mask. A record made for a masked id alone (a console search, an erasure) has none.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Integer, String, Text, and_, event, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import declarative_base

from bot import db, settings
from bot.compliance import rulebook
from bot.compliance.customer_ref import customer_ref as exact_ref
from bot.compliance.customer_ref import is_display_form
from bot.compliance.masking import mask

Base = declarative_base()
KINDS = ("suggestion", "warning", "mismatch", "handoff", "guard_block", "assessment", "binding", "unbinding",
         "erasure", "rules_refused", "holding_review", "console_read", "agent_read", "break_glass",
         "customer_data", "action_refused")
GENESIS = "0" * 64
# Records of what a customer was shown: an action asks for them on the message concerned
# (``when_shown``) and the Rasa server writes them once that message passed the guard and was
# handed to the channel (``record_shown``), never for what an action merely intended.
SHOWN_KINDS = ("suggestion", "warning", "mismatch")
SHOWN_KEY = "anxin_audit_when_shown"
FROM_ID = "from-id"  # record()'s customer_ref default: the reference of the customer id given


class AuditRecord(Base):
    __tablename__ = "audit_events"
    id = Column(Integer, primary_key=True, autoincrement=False)  # the position in the chain, set by record()
    at = Column(DateTime(timezone=True), nullable=False)
    customer_id = Column(String(128), nullable=False, index=True)
    kind = Column(String(32), nullable=False)
    c_level = Column(String(4))
    products = Column(Text, nullable=False, default="[]")  # JSON [{"id": ..., "risk": ...}]
    warning_text = Column(Text)
    emotion = Column(String(32))
    detail = Column(Text)
    rules_version = Column(String(64), nullable=False)
    # The BotUttered this record describes (its metadata "message_id"); None for records that
    # describe no message (an assessment, a binding) and for records from before message ids.
    message_id = Column(String(64), index=True)
    # The customer's exact keyed reference (bot.compliance.customer_ref); None for records from
    # before references and for records that name a customer only by a masked id.
    customer_ref = Column(String(64), index=True)
    prev_hash = Column(String(64), nullable=False, unique=True)  # unique: one linear chain
    hash = Column(String(64), nullable=False)


@event.listens_for(AuditRecord, "before_update")
@event.listens_for(AuditRecord, "before_delete")
def _refuse_change(*_: object) -> None:
    raise PermissionError("the audit trail is append-only")


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
    rules_version: str
    message_id: str | None = None


@dataclass(frozen=True)
class Finding:
    """One thing ``verify`` found wrong; ``id`` is the record concerned, ``line`` the anchor line."""

    kind: str  # hash_mismatch, other_key, chain_break, id_gap, truncated, anchor_mismatch, anchor_forged, no_anchor
    message: str
    id: int | None = None
    line: int | None = None


@dataclass
class Report:
    """What ``verify`` checked and found; ``ok`` only with no finding at all."""

    checked: int = 0            # records in the trail
    anchors: int = 0            # anchor lines with a valid signature
    anchored: int = 0           # records covered by the newest valid anchor
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def broken(self) -> list[int]:
        """Ids of the records a finding names."""
        return sorted({f.id for f in self.findings if f.id is not None})

    def summary(self) -> str:
        return (f"{self.checked} records checked against {self.anchors} anchors "
                f"(the newest covers {self.anchored} records)")


_writer = threading.Lock()  # threads of one process queue here instead of racing for the head


def _session():
    return db.sessions(db.COMPLIANCE)()


def _lock_chain_head(session) -> None:
    """Take the database's write lock before reading the chain head, so another process (the
    Rasa server and the action server both append) cannot append between read and insert.
    SQLite: BEGIN IMMEDIATE waits (busy timeout) for the single writer slot. PostgreSQL: a
    transaction-scoped advisory lock. Other databases fall back to the unique id/prev_hash retry."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(4242)"))


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def _mac(key: bytes, prev_hash: str, fields: dict) -> str:
    """The record's hash: HMAC-SHA256 under the audit key over the previous hash and its fields."""
    return hmac.new(key, _canonical({"prev_hash": prev_hash, **fields}), hashlib.sha256).hexdigest()


def _anchor_key(key: bytes) -> bytes:
    return hmac.new(key, b"anchor", hashlib.sha256).digest()


def _utc(at: datetime) -> str:
    """One spelling of the time, whatever the database gives back (naive UTC or aware)."""
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc).replace(tzinfo=None)
    return at.isoformat()


def _fields(record: AuditRecord) -> dict:
    fields = {"id": record.id, "at": _utc(record.at), "customer_id": record.customer_id, "kind": record.kind,
              "c_level": record.c_level, "products": record.products, "warning_text": record.warning_text,
              "emotion": record.emotion, "detail": record.detail, "rules_version": record.rules_version}
    if record.message_id is not None:  # only when set: records from before message ids keep their hash
        fields["message_id"] = record.message_id
    if record.customer_ref is not None:  # likewise: records from before references keep their hash
        fields["customer_ref"] = record.customer_ref
    return fields


def _head(session) -> AuditRecord | None:
    return session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).first()


def _sign_anchor(key: bytes, body: dict) -> dict:
    return {**body, "sig": hmac.new(_anchor_key(key), _canonical(body), hashlib.sha256).hexdigest()}


def _append_anchor(handle: int, key: bytes, last_id: int, head_hash: str, rules_version: str) -> dict:
    """Append one signed checkpoint line; ``flock`` keeps lines of several processes whole."""
    line = _sign_anchor(key, {"count": last_id, "head": head_hash, "last_id": last_id,
                              "at": datetime.now(timezone.utc).isoformat(),
                              "rules_version": rules_version})
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        os.write(handle, json.dumps(line, ensure_ascii=False, sort_keys=True).encode() + b"\n")
        os.fsync(handle)
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
    return line


def _open_anchors() -> int:
    return os.open(settings.audit_anchors_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def record(customer_id: str, kind: str, *, c_level: str | None = None, products: list[dict] | None = None,
           warning_text: str | None = None, emotion: str | None = None, detail: str | None = None,
           message_id: str | None = None, customer_ref: str | None = FROM_ID) -> int:
    """Append one record; returns its id. Writers are serialised (see ``_lock_chain_head``); the
    unique ``id`` and ``prev_hash`` are the last line of defence and turn a lost race into a retry.
    Every ``audit_anchor_every`` records an anchor is appended once the record is committed.

    ``customer_ref`` is the customer's exact reference: by default made from ``customer_id``
    (none when that is already a masked display form); a caller that holds only a masked id
    passes the reference it has, or None."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit kind {kind!r}")
    if customer_ref == FROM_ID:
        customer_ref = exact_ref(customer_id) if customer_id and not is_display_form(customer_id) else None
    key = settings.audit_key()  # no key, no record: refused before anything is written
    every = settings.audit_anchor_every()
    version = rulebook.current().version  # once, before the writer's lock (see rulebook._report)
    anchors = _open_anchors()  # an unwritable anchor file is found before the record is written
    try:
        for _ in range(20):
            with _writer, _session() as session:
                _lock_chain_head(session)
                head = _head(session)
                entry = AuditRecord(id=head.id + 1 if head else 1, at=datetime.now(timezone.utc),
                                    customer_id=mask(customer_id), kind=kind, c_level=c_level,
                                    products=json.dumps(products or [], ensure_ascii=False),
                                    warning_text=mask(warning_text), emotion=emotion, detail=mask(detail),
                                    rules_version=version, message_id=message_id, customer_ref=customer_ref,
                                    prev_hash=head.hash if head else GENESIS)
                entry.hash = _mac(key, entry.prev_hash, _fields(entry))
                session.add(entry)
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    continue
                if entry.id % every == 0:
                    _append_anchor(anchors, key, entry.id, entry.hash, version)
                return entry.id
    finally:
        os.close(anchors)
    raise RuntimeError("could not append to the audit trail (too much contention)")


def when_shown(customer_id: str, kind: str, *, c_level: str | None = None, products: list[dict] | None = None,
               warning_text: str | None = None, emotion: str | None = None, detail: str | None = None) -> dict:
    """Keyword arguments for ``dispatcher.utter_message`` asking for a ``kind`` record about
    ``customer_id`` once the message is shown. The request travels in the message's metadata
    (rasa-sdk sends extra keywords, Rasa puts them in the BotUttered's metadata); the Rasa
    server's guard takes it out before the message reaches any channel."""
    if kind not in SHOWN_KINDS:
        raise ValueError(f"{kind!r} is not a record of what was shown ({', '.join(SHOWN_KINDS)})")
    return {SHOWN_KEY: {"customer_id": customer_id, "kind": kind, "c_level": c_level, "products": products or [],
                        "warning_text": warning_text, "emotion": emotion, "detail": detail}}


def record_shown(request: object, message_id: str) -> int:
    """Write the record ``request`` (made by ``when_shown``) for the message ``message_id``
    that was shown; a request that is not one is refused (ValueError), nothing written."""
    if not isinstance(request, dict) or request.get("kind") not in SHOWN_KINDS \
            or not isinstance(request.get("customer_id"), str) or not request["customer_id"]:
        raise ValueError(f"not a request for a record of what was shown: {request!r}")
    products = request.get("products") or []
    if not isinstance(products, list) or not all(isinstance(p, dict) for p in products):
        raise ValueError(f"products of a shown record must be a list of objects: {products!r}")
    text_fields = {k: request.get(k) for k in ("c_level", "warning_text", "emotion", "detail")}
    if any(v is not None and not isinstance(v, str) for v in text_fields.values()):
        raise ValueError(f"not a request for a record of what was shown: {request!r}")
    return record(request["customer_id"], request["kind"], products=products, message_id=message_id, **text_fields)


def anchor() -> dict:
    """Append an anchor for the trail as it is now (``audit_cli anchor``); returns the line.
    Refuses when the newest record does not match the key: that trail needs ``verify`` first."""
    key = settings.audit_key()
    version = rulebook.current().version  # before the writer's lock: current() may audit a refused rules file
    anchors = _open_anchors()
    try:
        with _writer, _session() as session:
            head = _head(session)
            if head is not None and head.hash != _mac(key, head.prev_hash, _fields(head)):
                raise ValueError(f"the newest audit record (id {head.id}) does not match the audit key; "
                                 "run verify, nothing was anchored")
            return _append_anchor(anchors, key, head.id if head else 0, head.hash if head else GENESIS, version)
    finally:
        os.close(anchors)


def of_customer(customer_id: str):
    """The condition selecting one customer's records: those with a reference by it exactly,
    those without (older, or made for a masked id) by the masked id, which another customer
    may share."""
    masked = AuditRecord.customer_id == mask(customer_id)
    if not customer_id or is_display_form(customer_id):
        return masked
    return or_(AuditRecord.customer_ref == exact_ref(customer_id), and_(AuditRecord.customer_ref.is_(None), masked))


def history(customer_id: str) -> list[Entry]:
    """Every record about one customer, oldest first (see ``of_customer``)."""
    with _session() as session:
        rows = session.scalars(select(AuditRecord).where(of_customer(customer_id))
                               .order_by(AuditRecord.id)).all()
        return [Entry(r.id, r.at, r.customer_id, r.kind, r.c_level, json.loads(r.products), r.warning_text,
                      r.emotion, r.detail, r.rules_version, r.message_id) for r in rows]


def _read_anchors(key: bytes, report: Report) -> list[tuple[int, dict]]:
    """The anchor lines with a valid signature, as (line number, anchor); bad lines become findings."""
    path = settings.audit_anchors_path()
    if not path.exists():
        return []
    valid: list[tuple[int, dict]] = []
    forged: list[Finding] = []
    lines = 0
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            lines += 1
            try:
                line = json.loads(raw)
                body = {k: line[k] for k in ("count", "head", "last_id", "at", "rules_version")}
                signature = str(line["sig"])
                last_id, count = int(body["last_id"]), int(body["count"])
            except (ValueError, KeyError, TypeError):
                forged.append(Finding("anchor_forged", f"anchor line {number} of {path} is not a valid anchor",
                                      line=number))
                continue
            if set(line) != {*body, "sig"} or not hmac.compare_digest(
                    signature, _sign_anchor(key, body)["sig"]):
                forged.append(Finding("anchor_forged", f"anchor line {number} of {path} has a bad signature "
                                      "(forged or altered, or signed with another key)", line=number))
                continue
            valid.append((number, {**body, "last_id": last_id, "count": count}))
    if forged and not valid and len(forged) > 1:
        report.findings.append(Finding("anchor_forged", f"none of the {lines} anchor lines of {path} is signed "
                                       "with the audit key: forged, or written with another key"))
    else:
        report.findings.extend(forged)
    return valid


def verify() -> Report:
    """Recompute the keyed chain and check it against the anchors. Anchors are read before the
    records: an anchor is written only after its record is committed, so every anchor read
    describes records that the (later) read of the table must contain."""
    key = settings.audit_key()
    report = Report()
    anchors = _read_anchors(key, report)
    report.anchors = len(anchors)
    anchored_ids = {a["last_id"] for _, a in anchors}
    stored: dict[int, str] = {}
    mismatched: list[int] = []
    expected_id, prev, last_id = 1, GENESIS, 0
    with _session() as session:
        rows = session.execute(select(AuditRecord).order_by(AuditRecord.id)
                               .execution_options(yield_per=1000)).scalars()
        for row in rows:
            report.checked += 1
            if row.id > expected_id:
                missing = f"id {expected_id}" if row.id == expected_id + 1 else f"ids {expected_id}..{row.id - 1}"
                report.findings.append(Finding("id_gap", f"id gap: {missing} missing before id {row.id} "
                                               "(records deleted)", row.id))
            if row.prev_hash != prev:
                before = f"id {last_id}" if last_id else "the start of the trail"
                report.findings.append(Finding("chain_break", f"chain break at id {row.id}: it does not link to "
                                               f"{before} (a record was deleted, inserted or replaced)", row.id))
            if not hmac.compare_digest(row.hash, _mac(key, row.prev_hash, _fields(row))):
                mismatched.append(row.id)
            if row.id in anchored_ids:
                stored[row.id] = row.hash
            expected_id, prev, last_id = row.id + 1, row.hash, row.id
    if mismatched and len(mismatched) == report.checked > 1:
        report.findings.append(Finding("other_key", f"none of the {report.checked} records matches the audit "
                                       "key: the trail was written with another key (or rewritten), or "
                                       "ANXIN_AUDIT_KEY is not the key it was written with"))
    else:
        report.findings.extend(Finding("hash_mismatch", f"hash mismatch at id {i}: the record was changed, or "
                                       "not written with the audit key", i) for i in mismatched)
    _check_against_anchors(report, anchors, stored, last_id)
    return report


def _check_against_anchors(report: Report, anchors: list[tuple[int, dict]], stored: dict[int, str],
                           last_id: int) -> None:
    path = settings.audit_anchors_path()
    if not anchors:
        forged = any(f.kind == "anchor_forged" for f in report.findings)  # already said
        if report.checked >= settings.audit_anchor_every() and not forged:
            report.findings.append(Finding("no_anchor", f"no valid anchor in {path} although the trail holds "
                                           f"{report.checked} records: the anchor file was removed or replaced"))
        return
    newest_line, newest = max(anchors, key=lambda item: (item[1]["last_id"], item[0]))
    report.anchored = newest["count"]
    if newest["last_id"] > last_id:
        report.findings.append(Finding(
            "truncated", f"truncated: the anchor at line {newest_line} ({newest['at']}) counts {newest['count']} "
            f"records up to id {newest['last_id']}, the trail holds {report.checked} up to id {last_id}: "
            "the newest records were deleted", line=newest_line))
    for number, anchor_line in anchors:
        anchored_id, head = anchor_line["last_id"], anchor_line["head"]
        if anchored_id > last_id:
            continue  # reported once above
        actual = GENESIS if anchored_id == 0 else stored.get(anchored_id)
        if actual is None:
            report.findings.append(Finding("anchor_mismatch", f"the anchor at line {number} names id {anchored_id} "
                                           "as its head, but the trail has no such record", anchored_id, number))
        elif actual != head:
            report.findings.append(Finding("anchor_mismatch", f"id {anchored_id} is not the record anchored at line "
                                           f"{number} ({anchor_line['at']}): the trail was rewritten after it was "
                                           "anchored", anchored_id, number))
