"""The holdings store: what each customer holds (product, units, total paid, purchase day).

Holdings come from the bank's systems (``record_purchase``); in demo mode only, a demo customer
listed in ``demo_holdings.yml`` gets their demo holdings the first time anyone asks, bought
``days_ago`` before that day at that day's demo NAV. A customer the bank does not know holds
nothing. (The demo market ends on whatever day it is asked for, see ``nav``: a demo holding's
value stays the same from day to day while its purchase day recedes.) Units are kept in
hundredths and money in fen (integers), read back as ``Decimal``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import yaml
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot import db, settings
from bot.accounts.store import from_fen, to_fen
from bot.advisory import nav
from bot.advisory.tables import HoldingRow

DEMO_FILE = Path(__file__).with_name("demo_holdings.yml")
UNIT = Decimal("0.01")


@dataclass(frozen=True)
class Holding:
    customer_id: str
    product_id: str
    units: Decimal
    cost: Decimal  # total paid, fees included
    purchased_on: date


@functools.lru_cache(maxsize=1)
def demo_data() -> dict:
    with DEMO_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)["customers"]


def _to_hundredths(units: Decimal) -> int:
    hundredths = Decimal(units).quantize(UNIT, rounding=ROUND_DOWN)
    if hundredths != Decimal(units) or hundredths <= 0:
        raise ValueError(f"{units} is not a positive whole number of hundredths of a unit")
    return int(hundredths * 100)


def _view(row: HoldingRow) -> Holding:
    return Holding(row.customer_id, row.product_id, (Decimal(row.units_hundredths) / 100).quantize(UNIT),
                   from_fen(row.cost_fen), row.purchased_on)


def _row(customer_id: str, *, units: Decimal, cost: Decimal, product_id: str, purchased_on: date) -> HoldingRow:
    nav.history(product_id, purchased_on)  # KeyError for a product the catalogue does not have
    return HoldingRow(customer_id=customer_id, product_id=product_id, units_hundredths=_to_hundredths(units),
                      cost_fen=to_fen(Decimal(cost)), purchased_on=purchased_on)


def record_purchase(customer_id: str, product_id: str, units: Decimal, cost: Decimal, purchased_on: date) -> None:
    """Add a purchase (the bank's systems own this; tests and the demo seed call it). A second
    purchase of the same product on the same day joins that day's lot."""
    row = _row(customer_id, units=units, cost=cost, product_id=product_id, purchased_on=purchased_on)
    with db.sessions(db.BANK)() as session:
        session.add(row)
        try:
            session.commit()
            return
        except IntegrityError:
            session.rollback()
        session.execute(update(HoldingRow)
                        .where(HoldingRow.customer_id == customer_id, HoldingRow.product_id == product_id,
                               HoldingRow.purchased_on == purchased_on)
                        .values(units_hundredths=HoldingRow.units_hundredths + row.units_hundredths,
                                cost_fen=HoldingRow.cost_fen + row.cost_fen))
        session.commit()


def _demo_rows(customer_id: str, today: date) -> list[HoldingRow]:
    rows = []
    for lot in (demo_data().get(customer_id) or {}).get("holdings", []):
        bought = today - timedelta(days=lot["days_ago"])
        paid = Decimal(lot["paid"])
        units = (paid / nav.nav_on(lot["product"], bought, today)).quantize(UNIT, rounding=ROUND_DOWN)
        rows.append(_row(customer_id, units=units, cost=paid, product_id=lot["product"], purchased_on=bought))
    return rows


def _seed_demo(session, customer_id: str) -> None:
    """Demo mode: the demo customer's holdings, all or nothing (a concurrent seed of the same
    customer loses on the lots' unique key and rolls back; the winner's rows stay)."""
    rows = _demo_rows(customer_id, nav.today())
    if not rows:
        return
    session.add_all(rows)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()


def holdings(customer_id: str) -> list[Holding]:
    """The customer's holdings, oldest purchase first; empty when they hold nothing."""
    query = select(HoldingRow).where(HoldingRow.customer_id == customer_id) \
        .order_by(HoldingRow.purchased_on, HoldingRow.id)
    with db.sessions(db.BANK)() as session:
        found = session.scalars(query).all()
        if not found and settings.demo_mode() and customer_id in demo_data():
            _seed_demo(session, customer_id)
            found = session.scalars(query).all()
        return [_view(row) for row in found]
