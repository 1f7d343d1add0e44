"""The advisory's tables in the bank schema (``ANXIN_BANK_DB_URL``), made only by the migration
``bot/migrations/bank/bank_0002_advisory.py``.

Holdings sit beside the accounts they are paid from; review flags and advisor bookings are the
bank's own working lists; generated reports are stored so that any replica can serve a link
another replica made. Money is integer fen and units integer hundredths, as in the account
store: SQLite keeps ``Numeric`` as a float, and no float ever holds an amount.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, DateTime, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class HoldingRow(Base):
    """One lot: a customer's units of a product bought on one day (a second purchase of the
    same product on the same day joins the lot)."""

    __tablename__ = "advisory_holdings"
    __table_args__ = (UniqueConstraint("customer_id", "product_id", "purchased_on", name="uq_advisory_holdings_lot"),)
    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(64), nullable=False, index=True)
    product_id = Column(String(32), nullable=False)
    units_hundredths = Column(BigInteger, nullable=False)
    cost_fen = Column(BigInteger, nullable=False)  # total paid, fees included
    purchased_on = Column(Date, nullable=False)


class ReviewFlagRow(Base):
    """A holding above the customer's current level, for an advisor to review: one per
    customer, product and customer level, however often it is seen."""

    __tablename__ = "advisory_review_flags"
    __table_args__ = (UniqueConstraint("customer_id", "product_id", "customer_level", name="uq_advisory_review_flag"),)
    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(64), nullable=False, index=True)
    product_id = Column(String(32), nullable=False)
    product_risk = Column(String(2), nullable=False)
    customer_level = Column(String(2), nullable=False)
    status = Column(String(16), nullable=False, index=True)  # open | closed
    raised_at = Column(DateTime(timezone=True), nullable=False)
    closed_at = Column(DateTime(timezone=True))
    closed_by = Column(String(64))
    note = Column(Text)


class BookingRow(Base):
    """A customer's request to talk with an advisor."""

    __tablename__ = "advisor_bookings"
    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(64), nullable=False, index=True)
    preferred_time = Column(String(200), nullable=False)
    topic = Column(String(500), nullable=False)
    status = Column(String(16), nullable=False, index=True)  # requested | confirmed | done | cancelled
    created_at = Column(DateTime(timezone=True), nullable=False)


class ReportRow(Base):
    """A generated allocation report (HTML and PDF), served by a signed link until it expires."""

    __tablename__ = "advisory_reports"
    id = Column(String(32), primary_key=True)  # random, also signed into the link
    customer_id = Column(String(64), nullable=False, index=True)
    language = Column(String(2), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False, index=True)
    html = Column(Text, nullable=False)
    pdf = Column(LargeBinary, nullable=False)
