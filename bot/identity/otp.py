"""One-time codes: six digits, sent to the customer, valid a few minutes, three tries.

Used where a person must prove they hold something the bank knows is the customer's: a
WeChat binding (a code by SMS to the registered phone) and a large transfer (step-up: a
code pushed to the bank app). Only a salted hash of a code is stored; a code is checked in
constant time, at most ``MAX_ATTEMPTS`` times, and works once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Column, DateTime, Integer, String, select
from sqlalchemy.orm import declarative_base

from bot import db

Base = declarative_base()
MAX_ATTEMPTS = 3
VALID_FOR = timedelta(minutes=5)


class OneTimeCode(Base):
    __tablename__ = "one_time_codes"
    id = Column(Integer, primary_key=True, autoincrement=True)
    purpose = Column(String(128), nullable=False, index=True)  # e.g. "transfer:<key>", "wechat-bind:<openid>"
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
    tries left), expired, none (no code was sent for this purpose)."""

    status: str
    customer_id: str | None = None
    attempts_left: int = 0


def _session():
    return db.sessions(db.BANK)()


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


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


def check(purpose: str, code: str) -> Check:
    """Check ``code`` against the open code for ``purpose``; a right code is used up."""
    now = datetime.now(timezone.utc)
    with _session() as session:
        row = session.scalars(select(OneTimeCode).where(OneTimeCode.purpose == purpose, OneTimeCode.used_at.is_(None))
                              .order_by(OneTimeCode.id.desc()).limit(1).with_for_update()).first()
        if row is None:
            return Check("none")
        if _aware(row.expires_at) <= now:
            row.used_at = now
            session.commit()
            return Check("expired", row.customer_id)
        row.attempts += 1
        if hmac.compare_digest(row.code_hash, _hash(row.salt, code.strip())):
            row.used_at = row.verified_at = now
            session.commit()
            return Check("ok", row.customer_id)
        left = MAX_ATTEMPTS - row.attempts
        if left <= 0:
            row.used_at = now
        session.commit()
        return Check("wrong" if left > 0 else "locked", row.customer_id, max(left, 0))


def passed(purpose: str, within: timedelta = VALID_FOR) -> bool:
    """True when a code for ``purpose`` was entered right within ``within``."""
    since = datetime.now(timezone.utc) - within
    with _session() as session:
        moments = session.scalars(select(OneTimeCode.verified_at).where(OneTimeCode.purpose == purpose,
                                                                        OneTimeCode.verified_at.is_not(None))).all()
    return any(_aware(moment) >= since for moment in moments)
