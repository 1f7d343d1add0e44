"""The account store (SQLAlchemy; SQLite by default, any SQL database by URL).

Money is integer fen in the database and ``Decimal`` everywhere else: no float ever holds
an amount (SQLite stores ``Numeric`` as a float). A transfer debits with one conditional
UPDATE (``balance >= amount``) inside the transaction that records it under its idempotency
key, so two concurrent transfers never overdraw an account and the same transfer posted
twice moves money once, whatever the database.

Accounts come from the bank's core systems (``open_account``); in demo mode only, a
customer the store does not know gets a demo account seeded from demo_customers.yml.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import yaml
from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, String, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, declarative_base

from bot import db, settings
from bot.accounts.payees import PayeeMatch, match_payee

SEED_FILE = Path(__file__).with_name("demo_customers.yml")
FEN = Decimal("0.01")
Base = declarative_base()


class Account(Base):
    __tablename__ = "bank_accounts"
    customer_id = Column(String(64), primary_key=True)
    display_name = Column(String(128), nullable=False)
    currency = Column(String(3), nullable=False)
    balance_fen = Column(BigInteger, nullable=False)
    account_no = Column(String(32), nullable=False)
    phone = Column(String(20), index=True)  # registered mobile: where binding codes are sent
    daily_limit_fen = Column(BigInteger)  # None: the bank's default (settings)


class SavedPayee(Base):
    __tablename__ = "saved_payees"
    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(64), ForeignKey("bank_accounts.customer_id"), index=True)
    name = Column(String(128), nullable=False)
    account_no = Column(String(32), nullable=False)


class MoneyTransfer(Base):
    __tablename__ = "money_transfers"
    id = Column(Integer, primary_key=True, autoincrement=True)
    idempotency_key = Column(String(64), nullable=False, unique=True)
    customer_id = Column(String(64), ForeignKey("bank_accounts.customer_id"), index=True)
    payee = Column(String(128), nullable=False)
    amount_fen = Column(BigInteger, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)


@dataclass(frozen=True)
class AccountView:
    """What the bot may tell the customer about their account."""

    display_name: str
    currency: str
    balance: Decimal
    account_tail: str
    payees: tuple[str, ...]
    daily_limit: Decimal


@dataclass(frozen=True)
class TransferOutcome:
    """Result of a transfer attempt. ``status``: ok; already_done (this idempotency key moved
    money before: nothing moved now); insufficient_funds; unknown_payee; over_daily_limit
    (``limit_left`` says how much is left today); step_up_required (a one-time code is needed
    first); unknown_transfer (the key is another customer's); no_account."""

    status: str
    balance: Decimal
    currency: str
    payee: str | None = None
    limit_left: Decimal | None = None


def to_fen(amount: Decimal) -> int:
    """An amount in fen; refuses what is not a whole number of fen."""
    cents = Decimal(amount).quantize(FEN, rounding=ROUND_HALF_UP)
    if cents != Decimal(amount):
        raise ValueError(f"{amount} is not a whole number of fen")
    return int(cents * 100)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)


@functools.lru_cache(maxsize=1)
def _seed() -> dict:
    with SEED_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _session() -> Session:
    return db.sessions(db.BANK)()


def open_account(customer_id: str, *, display_name: str, balance: Decimal, account_no: str,
                 payees: list[dict], currency: str = "CNY", phone: str | None = None,
                 daily_limit: Decimal | None = None) -> None:
    """Create an account (the bank's core systems own this; tests and the demo seed call it)."""
    with _session() as session:
        _add(session, customer_id, display_name, currency, balance, account_no, payees, phone, daily_limit)


def _add(session: Session, customer_id: str, display_name: str, currency: str, balance: Decimal,
         account_no: str, payees: list[dict], phone: str | None, daily_limit: Decimal | None) -> None:
    session.add(Account(customer_id=customer_id, display_name=display_name, currency=currency,
                        balance_fen=to_fen(Decimal(balance)), account_no=account_no, phone=phone,
                        daily_limit_fen=None if daily_limit is None else to_fen(daily_limit)))
    try:
        session.flush()
        session.add_all(SavedPayee(customer_id=customer_id, **payee) for payee in payees)
        session.commit()
    except IntegrityError:  # another request created the same customer first
        session.rollback()


def _get(session: Session, customer_id: str) -> Account | None:
    """The customer's account; in demo mode, a demo account is created on first use."""
    found = session.get(Account, customer_id)
    if found is not None or not settings.demo_mode():
        return found
    seed = _seed()
    profile = {**seed["new_customer"], **seed.get("customers", {}).get(customer_id, {})}
    _add(session, customer_id, profile["display_name"], profile["currency"], Decimal(profile["balance"]),
         profile["account_no"], profile["payees"], profile.get("phone"), None)
    return session.get(Account, customer_id)


def _limit(account: Account) -> Decimal:
    return from_fen(account.daily_limit_fen) if account.daily_limit_fen is not None \
        else settings.daily_transfer_limit()


def account(customer_id: str) -> AccountView | None:
    """The customer's account, or None when the bank has none for them."""
    with _session() as session:
        found = _get(session, customer_id)
        if found is None:
            return None
        payees = session.scalars(select(SavedPayee.name).where(SavedPayee.customer_id == customer_id)
                                 .order_by(SavedPayee.id)).all()
        return AccountView(found.display_name, found.currency, from_fen(found.balance_fen),
                           found.account_no[-4:], tuple(payees), _limit(found))


def customer_by_phone(phone: str) -> str | None:
    """The customer whose registered mobile this is (binding by one-time code). In demo mode
    the demo customers with a phone are opened first, so they can bind before first use."""
    with _session() as session:
        if settings.demo_mode():
            for customer_id, seeded in _seed().get("customers", {}).items():
                if seeded.get("phone") == phone:
                    _get(session, customer_id)
        return session.scalars(select(Account.customer_id).where(Account.phone == phone).limit(1)).first()


def find_payee(customer_id: str, text: str | None) -> str | None:
    """The saved payee ``text`` names exactly, or None (``bot.accounts.payees``: 张三三 is not
    张三; "转给李四吧" is 李四; traditional characters read as simplified ones)."""
    return payee_match(customer_id, text).name


def payee_match(customer_id: str, text: str | None) -> PayeeMatch:
    """Which saved payee ``text`` names, with the near misses when it names none exactly."""
    view = account(customer_id)
    if not text or view is None:
        return PayeeMatch(None)
    return match_payee(view.payees, text)


def _start_of_day(now: datetime) -> datetime:
    local = now.astimezone(settings.bank_timezone())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _spent_today(session: Session, customer_id: str) -> Decimal:
    """Sum of the customer's transfers since midnight of the bank's calendar day."""
    since = _start_of_day(datetime.now(timezone.utc)).astimezone(timezone.utc)
    total = session.scalar(select(func.coalesce(func.sum(MoneyTransfer.amount_fen), 0))
                           .where(MoneyTransfer.customer_id == customer_id, MoneyTransfer.created_at >= since))
    return from_fen(int(total))


def transferred_today(customer_id: str) -> Decimal:
    with _session() as session:
        return _spent_today(session, customer_id)


def needs_step_up(customer_id: str, amount: Decimal) -> bool:
    """True when today's transfers with this one would pass the step-up threshold: the code is
    asked for the running total, so 5,000 + 5,000 needs one at the second transfer, not never."""
    return transferred_today(customer_id) + amount > settings.step_up_threshold()


def find_transfer(idempotency_key: str, customer_id: str | None = None) -> MoneyTransfer | None:
    """The transfer made under ``idempotency_key`` (only ``customer_id``'s, when given: a key
    seen in one conversation says nothing about another customer's transfers)."""
    query = select(MoneyTransfer).where(MoneyTransfer.idempotency_key == idempotency_key)
    if customer_id is not None:
        query = query.where(MoneyTransfer.customer_id == customer_id)
    with _session() as session:
        return session.scalars(query).first()


def transfer(customer_id: str, payee: str, amount: Decimal, idempotency_key: str, *,
             step_up_over: Decimal | None = None) -> TransferOutcome:
    """Move ``amount`` to a saved payee once per ``idempotency_key``, atomically refusing if
    funds are short or today's limit would be passed. ``step_up_over``: no one-time code was
    entered for this transfer, so it is refused (``step_up_required``) when today's transfers
    with it would pass this amount, decided under the same lock as the limit, so two transfers
    at once cannot each slip under the threshold."""
    fen = to_fen(amount)
    with _session() as session:
        found = _get(session, customer_id)
        if found is None:
            return TransferOutcome("no_account", Decimal(0), "", payee)
        currency = found.currency
        done = session.scalars(select(MoneyTransfer).where(MoneyTransfer.idempotency_key == idempotency_key)).first()
        if done is not None and done.customer_id != customer_id:  # another customer's key: never theirs to replay
            return TransferOutcome("unknown_transfer", from_fen(found.balance_fen), currency, payee)
        if done is not None:
            return TransferOutcome("already_done", from_fen(found.balance_fen), currency, done.payee)
        if find_payee(customer_id, payee) != payee:
            return TransferOutcome("unknown_payee", from_fen(found.balance_fen), currency, payee)
        # Debit first: the UPDATE holds the account's row lock (the write lock on SQLite) until
        # commit, so the daily-limit sum below sees every concurrent transfer of this customer.
        debited = session.execute(
            update(Account)
            .where(Account.customer_id == customer_id, Account.balance_fen >= fen)
            .values(balance_fen=Account.balance_fen - fen)
        ).rowcount
        if debited != 1:
            session.rollback()
            return TransferOutcome("insufficient_funds", from_fen(session.get(Account, customer_id).balance_fen),
                                   currency, payee)
        spent = _spent_today(session, customer_id)
        if step_up_over is not None and spent + amount > step_up_over:
            session.rollback()
            return TransferOutcome("step_up_required", from_fen(session.get(Account, customer_id).balance_fen),
                                   currency, payee)
        left = _limit(found) - spent
        if amount > left:
            session.rollback()
            return TransferOutcome("over_daily_limit", from_fen(session.get(Account, customer_id).balance_fen),
                                   currency, payee, limit_left=max(left, Decimal(0)))
        session.add(MoneyTransfer(idempotency_key=idempotency_key, customer_id=customer_id, payee=payee,
                                  amount_fen=fen, created_at=datetime.now(timezone.utc)))
        try:
            session.commit()
        except IntegrityError:  # the same key committed first in a concurrent request: undo ours
            session.rollback()
            return TransferOutcome("already_done", account(customer_id).balance, currency, payee)
        session.expire_all()
        return TransferOutcome("ok", from_fen(session.get(Account, customer_id).balance_fen), currency, payee)

