"""Advisor-review flags: a holding above the customer's current level is put before an advisor.

A customer may hold a product above their level after a new assessment lowered it. The bot
states this plainly and never tells them to sell; a person reviews it. One flag per customer,
product and customer level, however often the holding is seen (a unique key, so concurrent
turns raise it once); a new assessment at another level is a new flag. Closing a flag is the
advisor's act; a closed flag is not raised again for the same level. The copilot lists the open
ones; the caller audits the ones raised (``ReviewFlag.new``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot import db
from bot.advisory.tables import ReviewFlagRow
from bot.advisory.valuation import Portfolio

OPEN, CLOSED = "open", "closed"


@dataclass(frozen=True)
class ReviewFlag:
    id: int
    customer_id: str
    product_id: str
    product_risk: str
    customer_level: str
    status: str
    raised_at: datetime
    new: bool = False  # raised by this call (audit it); False: it was on file already


def _view(row: ReviewFlagRow) -> ReviewFlag:
    raised = row.raised_at if row.raised_at.tzinfo else row.raised_at.replace(tzinfo=timezone.utc)
    return ReviewFlag(row.id, row.customer_id, row.product_id, row.product_risk, row.customer_level, row.status, raised)


def _existing(session, customer_id: str, product_id: str, level: str) -> ReviewFlagRow:
    return session.scalars(select(ReviewFlagRow).where(
        ReviewFlagRow.customer_id == customer_id, ReviewFlagRow.product_id == product_id,
        ReviewFlagRow.customer_level == level)).one()


def flag_holdings_above_level(portfolio: Portfolio) -> list[ReviewFlag]:
    """A flag for each product the customer holds above their current level (once per product,
    however many lots); the flags on file are returned as they are, new ones with ``new``."""
    if portfolio.level is None:
        return []
    flags, seen = [], set()
    with db.sessions(db.BANK)() as session:
        for held in portfolio.above_level:
            product = held.product
            if product.id in seen:
                continue
            seen.add(product.id)
            row = ReviewFlagRow(customer_id=portfolio.customer_id, product_id=product.id, product_risk=product.risk,
                                customer_level=portfolio.level, status=OPEN, raised_at=datetime.now(timezone.utc))
            session.add(row)
            try:
                session.commit()
                flags.append(replace(_view(row), new=True))
            except IntegrityError:  # on file already (or raised by a concurrent turn just now)
                session.rollback()
                flags.append(_view(_existing(session, portfolio.customer_id, product.id, portfolio.level)))
    return flags


def open_review_flags(customer_id: str | None = None) -> list[ReviewFlag]:
    """Open flags, oldest first: one customer's, or everyone's (the copilot's review queue)."""
    query = select(ReviewFlagRow).where(ReviewFlagRow.status == OPEN).order_by(ReviewFlagRow.id)
    if customer_id is not None:
        query = query.where(ReviewFlagRow.customer_id == customer_id)
    with db.sessions(db.BANK)() as session:
        return [_view(row) for row in session.scalars(query).all()]


def close_review_flag(flag_id: int, closed_by: str, note: str | None = None) -> bool:
    """An advisor closes a flag after the review; False if it was not open."""
    with db.sessions(db.BANK)() as session:
        closed = session.execute(update(ReviewFlagRow).where(ReviewFlagRow.id == flag_id, ReviewFlagRow.status == OPEN)
                                 .values(status=CLOSED, closed_at=datetime.now(timezone.utc), closed_by=closed_by,
                                         note=note)).rowcount
        session.commit()
        return closed == 1
