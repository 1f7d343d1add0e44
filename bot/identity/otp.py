"""One-time codes: six digits, sent to the customer, valid a few minutes, three tries.

Used where a person must prove they hold something the bank knows is the customer's: a
WeChat binding (a code by SMS to the registered phone) and a transfer over the step-up
threshold (a code pushed to the bank app). Only a salted hash of a code is stored; a code is
checked in constant time, at most ``MAX_ATTEMPTS`` times (each try counted atomically before
the comparison, so guesses sent at once cannot share a count: ``check``), and works once.

A code is for one thing only. Its *purpose* names it, and a step-up code's purpose is a digest
of the customer, the transfer's idempotency key, its amount and its payee
(``step_up_purpose``): the code pushed for "100.00 to 张三" cannot confirm 9,000, another payee,
another transfer or anybody else's transfer, because none of those has a code under that
purpose. Every look-up also names the customer, so a code row is never read or spent for
anybody but the customer it was sent to. A right code gives one *verification*: it lasts
``VERIFIED_FOR`` and is spent by ``redeem`` (one conditional UPDATE, so two executions at once
cannot both spend it) when the transfer runs; it never authorises a second one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Column, DateTime, Integer, String, select, update
from sqlalchemy.orm import declarative_base

from bot import db

Base = declarative_base()
MAX_ATTEMPTS = 3
VALID_FOR = timedelta(minutes=5)
# A right code allows the transfer it was for this long: it runs in the same turn.
VERIFIED_FOR = timedelta(minutes=1)
# What a code typed in the chat is replaced by before the conversation keeps it
# (bot.rasa_ext.step_up_door); the step-up form's validator knows it by this.
TYPED_CODE_MASK = "******"


class OneTimeCode(Base):
    __tablename__ = "one_time_codes"
    id = Column(Integer, primary_key=True, autoincrement=True)
    purpose = Column(String(128), nullable=False, index=True)  # e.g. "transfer:<digest>", "wechat-bind:<openid>"
    customer_id = Column(String(64), nullable=False)
    salt = Column(String(32), nullable=False)
    code_hash = Column(String(64), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    used_at = Column(DateTime(timezone=True))
    verified_at = Column(DateTime(timezone=True))


@dataclass(frozen=True)
class Check:
    """Outcome of a code check. ``status``: ok, wrong (``attempts_left`` > 0), locked (no
    tries left), expired, none (no code was sent for this purpose, or it was used), pending (a
    code is out and no try was made yet; ``status`` only)."""

    status: str
    customer_id: str | None = None
    attempts_left: int = 0


def _session():
    return db.sessions(db.BANK)()


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def step_up_purpose(customer_id: str | None, pending: Any) -> str | None:
    """The purpose of the step-up code for ``customer_id``'s pending transfer (a dict with
    ``key``, ``amount``, ``payee``): one digest of all four, so a code verified for one of them
    is no code for any other. None when something is missing."""
    if not customer_id or not isinstance(pending, dict):
        return None
    key, payee = pending.get("key"), pending.get("payee")
    try:
        amount = Decimal(str(pending.get("amount"))).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None
    if not (isinstance(key, str) and key and isinstance(payee, str) and payee and amount.is_finite()):
        return None
    bound = json.dumps([customer_id, key, str(amount), payee], ensure_ascii=False)
    return "transfer:" + hashlib.sha256(bound.encode("utf-8")).hexdigest()


def issue(purpose: str, customer_id: str) -> str:
    """A new code for ``purpose`` (any earlier one for it stops working); returns the code to send."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    salt = secrets.token_hex(8)
    now = datetime.now(timezone.utc)
    with _session() as session:
        for old in session.scalars(select(OneTimeCode).where(OneTimeCode.purpose == purpose,
                                                             OneTimeCode.used_at.is_(None))):
            old.used_at = now
        session.add(OneTimeCode(purpose=purpose, customer_id=customer_id, salt=salt, code_hash=_hash(salt, code),
                                expires_at=now + VALID_FOR, attempts=0))
        session.commit()
    return code


def _newest(purpose: str, customer_id: str | None, *, open_only: bool):
    query = select(OneTimeCode).where(OneTimeCode.purpose == purpose)
    if customer_id is not None:
        query = query.where(OneTimeCode.customer_id == customer_id)
    if open_only:
        query = query.where(OneTimeCode.used_at.is_(None))
    return query.order_by(OneTimeCode.id.desc()).limit(1)


def check(purpose: str, code: str, customer_id: str | None = None) -> Check:
    """Check ``code`` against the open code for ``purpose`` (sent to ``customer_id``, when
    given); a right code is used up and gives one verification (``redeem``).

    The try is counted before the code is compared, in one conditional UPDATE (``attempts =
    attempts + 1`` only while ``attempts < MAX_ATTEMPTS`` and the code is open); a try that
    UPDATE did not count is not compared at all. Reading the count, then writing it back, let
    a burst of guesses at once overwrite each other's count (SQLite has no ``SELECT … FOR
    UPDATE``): about six of sixteen were compared against a code that allows three. The count
    this try made is read back in the same transaction, which the UPDATE holds the row (or,
    in SQLite, the database) for, so each counted try sees its own number."""
    now = datetime.now(timezone.utc)
    with _session() as session:
        row = session.scalars(_newest(purpose, customer_id, open_only=True)).first()
        if row is None:
            return Check("none")
        if _aware(row.expires_at) <= now:
            session.execute(update(OneTimeCode).where(OneTimeCode.id == row.id, OneTimeCode.used_at.is_(None))
                            .values(used_at=now))
            session.commit()
            return Check("expired", row.customer_id)
        counted = session.execute(update(OneTimeCode)
                                  .where(OneTimeCode.id == row.id, OneTimeCode.used_at.is_(None),
                                         OneTimeCode.attempts < MAX_ATTEMPTS)
                                  .values(attempts=OneTimeCode.attempts + 1)).rowcount
        if counted != 1:  # out of tries, or used (rightly or by its last wrong try) just now
            session.rollback()
            return Check("locked", row.customer_id)
        attempts = session.scalar(select(OneTimeCode.attempts).where(OneTimeCode.id == row.id))
        values: dict[str, Any] = {}
        if hmac.compare_digest(row.code_hash, _hash(row.salt, code.strip())):
            values = {"used_at": now, "verified_at": now, "expires_at": now + VERIFIED_FOR}
        elif attempts >= MAX_ATTEMPTS:
            values = {"used_at": now}
        if values:
            session.execute(update(OneTimeCode).where(OneTimeCode.id == row.id).values(**values))
        session.commit()
        if "verified_at" in values:
            return Check("ok", row.customer_id)
        left = MAX_ATTEMPTS - attempts
        return Check("wrong" if left > 0 else "locked", row.customer_id, max(left, 0))


def status(purpose: str, customer_id: str) -> Check:
    """Where the newest code for ``purpose`` sent to ``customer_id`` stands, without trying
    anything: what a check made elsewhere (the Rasa server, which checks a typed code before
    the conversation stores it) came to."""
    now = datetime.now(timezone.utc)
    with _session() as session:
        row = session.scalars(_newest(purpose, customer_id, open_only=False)).first()
    if row is None:
        return Check("none")
    if row.verified_at is not None:
        return Check("ok" if _aware(row.expires_at) > now else "none", row.customer_id)
    if row.used_at is not None:
        return Check("locked" if row.attempts >= MAX_ATTEMPTS else "expired", row.customer_id)
    if _aware(row.expires_at) <= now:
        return Check("expired", row.customer_id)
    left = MAX_ATTEMPTS - row.attempts
    return Check("wrong" if row.attempts else "pending", row.customer_id, left)


def verified(purpose: str, customer_id: str) -> bool:
    """True when ``customer_id`` entered the right code for ``purpose`` and that verification
    is neither spent nor out of date."""
    return status(purpose, customer_id).status == "ok"


def redeem(purpose: str, customer_id: str) -> bool:
    """Spend ``customer_id``'s verification for ``purpose``: True once, for one transfer. A
    compare-and-set on the row (its expiry moves to now), so of two calls at once one wins."""
    now = datetime.now(timezone.utc)
    with _session() as session:
        row = session.scalars(_newest(purpose, customer_id, open_only=False)
                              .where(OneTimeCode.verified_at.is_not(None))).first()
        if row is None or _aware(row.expires_at) <= now:
            return False
        spent = session.execute(update(OneTimeCode)
                                .where(OneTimeCode.id == row.id, OneTimeCode.expires_at == row.expires_at)
                                .values(expires_at=now)).rowcount
        session.commit()
    return spent == 1
