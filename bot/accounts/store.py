"""The demo account store (SQLAlchemy; SQLite by default, any SQL database by URL).

Transfers debit with one conditional UPDATE (``balance >= amount``) inside a transaction, so
two concurrent transfers can never overdraw an account, whatever the database.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import yaml
from sqlalchemy import Column, DateTime, ForeignKey, Integer, Numeric, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, declarative_base

from bot import db, settings

SEED_FILE = Path(__file__).with_name("demo_customers.yml")
Base = declarative_base()


class Customer(Base):
    __tablename__ = "customers"
    customer_id = Column(String(128), primary_key=True)
    display_name = Column(String(128), nullable=False)
    currency = Column(String(3), nullable=False)
    balance = Column(Numeric(18, 2), nullable=False)
    account_no = Column(String(32), nullable=False)


class Payee(Base):
    __tablename__ = "payees"
    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(128), ForeignKey("customers.customer_id"), index=True)
    name = Column(String(128), nullable=False)
    account_no = Column(String(32), nullable=False)


class Transfer(Base):
    __tablename__ = "transfers"
    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(128), ForeignKey("customers.customer_id"), index=True)
    payee = Column(String(128), nullable=False)
    amount = Column(Numeric(18, 2), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)


@dataclass(frozen=True)
class AccountView:
    """What the bot may tell the customer about their account."""

    display_name: str
    currency: str
    balance: Decimal
    account_tail: str
    payees: tuple[str, ...]


@dataclass(frozen=True)
class TransferOutcome:
    """Result of a transfer attempt; ``status`` is ok, insufficient_funds or unknown_payee."""

    status: str
    balance: Decimal
    currency: str
    payee: str | None = None


@functools.lru_cache(maxsize=1)
def _seed() -> dict:
    with SEED_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _session() -> Session:
    return db.sessions(settings.bank_db_url(), Base.metadata)()


def _ensure_customer(session: Session, customer_id: str) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is not None:
        return customer
    seed = _seed()
    profile = {**seed["new_customer"], **seed.get("customers", {}).get(customer_id, {})}
    customer = Customer(customer_id=customer_id, display_name=profile["display_name"],
                        currency=profile["currency"], balance=Decimal(profile["balance"]),
                        account_no=profile["account_no"])
    session.add(customer)
    session.add_all(Payee(customer_id=customer_id, **payee) for payee in profile["payees"])
    try:
        session.commit()
    except IntegrityError:  # another request created the same customer first
        session.rollback()
        customer = session.get(Customer, customer_id)
    return customer


def account(customer_id: str) -> AccountView:
    """The customer's account, created from the demo seed on first use."""
    with _session() as session:
        customer = _ensure_customer(session, customer_id)
        payees = session.scalars(select(Payee.name).where(Payee.customer_id == customer_id)).all()
        return AccountView(customer.display_name, customer.currency,
                           Decimal(customer.balance), customer.account_no[-4:], tuple(payees))


def find_payee(customer_id: str, text: str | None) -> str | None:
    """The saved payee the customer means: exact name first, then a name inside the text
    ("转给张三吧") or the text inside one name ("alice")."""
    if not text:
        return None
    wanted = text.strip().casefold()
    payees = account(customer_id).payees
    for name in payees:
        if name.casefold() == wanted:
            return name
    matches = [n for n in payees if n.casefold() in wanted or (len(wanted) >= 2 and wanted in n.casefold())]
    return matches[0] if len(matches) == 1 else None


def transfer(customer_id: str, payee: str, amount: Decimal) -> TransferOutcome:
    """Move ``amount`` to a saved payee, atomically refusing if funds are short."""
    with _session() as session:
        customer = _ensure_customer(session, customer_id)
        currency = customer.currency
        if find_payee(customer_id, payee) != payee:
            return TransferOutcome("unknown_payee", Decimal(customer.balance), currency, payee)
        debited = session.execute(
            update(Customer)
            .where(Customer.customer_id == customer_id, Customer.balance >= amount)
            .values(balance=Customer.balance - amount)
        ).rowcount
        if debited != 1:
            session.rollback()
            balance = session.get(Customer, customer_id).balance
            return TransferOutcome("insufficient_funds", Decimal(balance), currency, payee)
        session.add(Transfer(customer_id=customer_id, payee=payee, amount=amount,
                             created_at=datetime.now(timezone.utc)))
        session.commit()
        session.expire_all()
        balance = session.get(Customer, customer_id).balance
        return TransferOutcome("ok", Decimal(balance), currency, payee)
