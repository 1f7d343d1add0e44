"""WeChat bindings: which bank customer a follower's OpenID speaks for.

A follower is anonymous (public help only) until a binding flow proved they hold the
customer's registered phone; the binding is a row here, the unbinding closes it. Rows are
never deleted by the dialogue, so the history shows who was bound when (the privacy command
erases a customer's rows on request). OpenIDs are masked wherever they are logged or audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Integer, String, delete, select, update
from sqlalchemy.orm import declarative_base

from bot import db

Base = declarative_base()


class WeChatBinding(Base):
    __tablename__ = "wechat_bindings"
    id = Column(Integer, primary_key=True, autoincrement=True)
    open_id = Column(String(64), nullable=False, index=True)
    customer_id = Column(String(64), nullable=False, index=True)
    bound_at = Column(DateTime(timezone=True), nullable=False)
    unbound_at = Column(DateTime(timezone=True))


@dataclass(frozen=True)
class Binding:
    open_id: str
    customer_id: str
    bound_at: datetime
    unbound_at: datetime | None


def _session():
    return db.sessions(db.BANK)()


def mask_open_id(open_id: str) -> str:
    """Enough of an OpenID to tell followers apart in a log, not enough to act as one."""
    return f"{open_id[:4]}…{open_id[-4:]}" if len(open_id) > 8 else "…"


def customer_for(open_id: str) -> str | None:
    """The customer this follower is bound to now, or None (anonymous)."""
    with _session() as session:
        return session.scalars(select(WeChatBinding.customer_id)
                               .where(WeChatBinding.open_id == open_id, WeChatBinding.unbound_at.is_(None))
                               .order_by(WeChatBinding.id.desc()).limit(1)).first()


def bind(open_id: str, customer_id: str) -> None:
    """Bind the follower to the customer, closing any binding it had before."""
    now = datetime.now(timezone.utc)
    with _session() as session:
        session.execute(update(WeChatBinding).where(WeChatBinding.open_id == open_id,
                                                    WeChatBinding.unbound_at.is_(None)).values(unbound_at=now))
        session.add(WeChatBinding(open_id=open_id, customer_id=customer_id, bound_at=now))
        session.commit()


def unbind(open_id: str) -> str | None:
    """Close the follower's binding; returns the customer it was bound to (None if none)."""
    customer = customer_for(open_id)
    if customer is not None:
        with _session() as session:
            session.execute(update(WeChatBinding).where(WeChatBinding.open_id == open_id,
                                                        WeChatBinding.unbound_at.is_(None))
                            .values(unbound_at=datetime.now(timezone.utc)))
            session.commit()
    return customer


def of_customer(customer_id: str) -> list[Binding]:
    """Every binding a customer has had (for the privacy export)."""
    with _session() as session:
        rows = session.scalars(select(WeChatBinding).where(WeChatBinding.customer_id == customer_id)
                               .order_by(WeChatBinding.id)).all()
        return [Binding(r.open_id, r.customer_id, r.bound_at, r.unbound_at) for r in rows]


def erase_customer(customer_id: str) -> int:
    """Delete every binding row of a customer (privacy erasure); returns how many."""
    with _session() as session:
        erased = session.execute(delete(WeChatBinding).where(WeChatBinding.customer_id == customer_id)).rowcount
        session.commit()
        return erased
