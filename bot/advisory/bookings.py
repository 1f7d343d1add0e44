"""Advisor bookings: a customer asks to talk with a wealth advisor about their holdings.

What the customer typed (a preferred time, a topic) is stored with personal numbers masked
(rule 10: an ID or card number typed into "topic" must not sit in a working list), cut to the
column's length. Open bookings are the ones not yet done or cancelled; the copilot lists every
open booking, oldest first, so none waits unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, update

from bot import db
from bot.advisory.tables import BookingRow
from bot.advisory.texts import text
from bot.compliance.masking import mask

REQUESTED, CONFIRMED, DONE, CANCELLED = "requested", "confirmed", "done", "cancelled"
OPEN_STATUSES = (REQUESTED, CONFIRMED)
STATUSES = (REQUESTED, CONFIRMED, DONE, CANCELLED)
TIME_CHARS, TOPIC_CHARS = 200, 500


@dataclass(frozen=True)
class Booking:
    id: int
    customer_id: str
    preferred_time: str
    topic: str
    status: str
    created_at: datetime


def _view(row: BookingRow) -> Booking:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=timezone.utc)
    return Booking(row.id, row.customer_id, row.preferred_time, row.topic, row.status, created)


def _cleaned(value: str | None, limit: int, fallback_key: str, language: str | None) -> str:
    cleaned = " ".join((mask(value) or "").split())[:limit]
    return cleaned or text(fallback_key, language)


def book_advisor(customer_id: str, preferred_time: str | None, topic: str | None,
                 language: str | None = None) -> Booking:
    """Store a request to talk with an advisor; an empty time or topic reads "to be agreed" /
    "holdings and allocation" in the customer's language."""
    row = BookingRow(customer_id=customer_id,
                     preferred_time=_cleaned(preferred_time, TIME_CHARS, "bookings.unspecified_time", language),
                     topic=_cleaned(topic, TOPIC_CHARS, "bookings.unspecified_topic", language),
                     status=REQUESTED, created_at=datetime.now(timezone.utc))
    with db.sessions(db.BANK)() as session:
        session.add(row)
        session.commit()
        return _view(row)


def open_bookings(customer_id: str | None = None) -> list[Booking]:
    """Open bookings (requested or confirmed), oldest first: one customer's, or everyone's (the
    copilot's list)."""
    query = select(BookingRow).where(BookingRow.status.in_(OPEN_STATUSES)).order_by(BookingRow.id)
    if customer_id is not None:
        query = query.where(BookingRow.customer_id == customer_id)
    with db.sessions(db.BANK)() as session:
        return [_view(row) for row in session.scalars(query).all()]


def set_booking_status(booking_id: int, status: str) -> bool:
    """An advisor confirms, completes or cancels a booking; False if there is no such booking."""
    if status not in STATUSES:
        raise ValueError(f"unknown booking status {status!r}: one of {', '.join(STATUSES)}")
    with db.sessions(db.BANK)() as session:
        changed = session.execute(update(BookingRow).where(BookingRow.id == booking_id).values(status=status)).rowcount
        session.commit()
        return changed == 1


def booking_message(customer_id: str, language: str | None, just_made: Booking | None = None) -> str:
    """What to tell the customer: the booking just made, or their open bookings."""
    if just_made is not None:
        return text("bookings.confirmed", language, when=just_made.preferred_time, topic=just_made.topic)
    pending = open_bookings(customer_id)
    if not pending:
        return text("bookings.none", language)
    items = text("units.list_separator", language).join(
        text("bookings.item", language, when=b.preferred_time, topic=b.topic) for b in pending)
    return text("bookings.open", language, count=len(pending), items=items)
