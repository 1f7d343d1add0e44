"""Daily NAV (net asset value per unit) of each catalogue product: the demo market.

Computed, not stored: a series is a pure function of the product, the day it ends and a fixed
seed (``nav_model.yml``), a few hundred days long, so every replica and every test sees the same
numbers with no table to migrate, seed or keep in step, and computing one costs well under a
millisecond per day. A bank replaces ``history`` with its NAV feed; valuation, worry facts and
reports only call ``history`` and ``nav_on``.

The series ends on the day asked for (today by default, in the bank's calendar) rather than on
a fixed date, so the demo's story holds on whatever day the demo runs: the market peaked about
130 days ago and fell roughly a quarter since, an equity fund bought before the peak is near
20% below it. R1 products only accrue, so their NAV never falls; R2 moves a little; R3 half the
market; R4 and R5 the market and more, with real drawdowns. Randomness is ``random.Random``
seeded with integers (the same stream on every Python version), never numpy (whose version
differs between the project's two environments).
"""

from __future__ import annotations

import functools
import math
import random
import zlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import yaml

from bot import settings
from bot.compliance import catalogue

MODEL_FILE = Path(__file__).with_name("nav_model.yml")
NAV_PLACES = Decimal("0.0001")
DAYS_PER_YEAR = 365


@functools.lru_cache(maxsize=1)
def model() -> dict:
    with MODEL_FILE.open(encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle)
    if sum(r["days"] for r in loaded["market"]["regimes"]) != loaded["days"]:
        raise ValueError(f"{MODEL_FILE}: the market regimes must cover exactly {loaded['days']} days")
    return loaded


def today() -> date:
    """Today in the bank's calendar (``ANXIN_TIMEZONE``): the day NAVs are quoted for."""
    return datetime.now(settings.bank_timezone()).date()


@functools.lru_cache(maxsize=1)
def _market_steps() -> tuple[float, ...]:
    """The shared market's daily log-returns, oldest first (the same whatever day ends them)."""
    market = model()["market"]
    noise = random.Random(model()["seed"])
    steps: list[float] = []
    for regime in market["regimes"]:
        drift = regime["change"] / regime["days"]
        steps.extend(drift + noise.gauss(0.0, market["daily_noise"]) for _ in range(regime["days"]))
    return tuple(steps)


def _product(product_id: str) -> catalogue.Product:
    for product in catalogue.products():
        if product.id == product_id:
            return product
    raise KeyError(f"{product_id} is not in the product catalogue")


@functools.lru_cache(maxsize=64)
def _values(product_id: str) -> tuple[Decimal, ...]:
    """The product's NAVs, oldest first, rounded to four places as funds publish them."""
    level = model()["levels"][_product(product_id).risk]
    own = random.Random(model()["seed"] * 1_000_003 + zlib.crc32(product_id.encode("utf-8")))
    carry = level["carry"] / DAYS_PER_YEAR
    log_nav, values = 0.0, [Decimal("1.0000")]
    for market_step in _market_steps()[1:]:
        own_noise = own.gauss(0.0, level["noise"]) if level["noise"] else 0.0
        log_nav += carry + level["beta"] * market_step + own_noise
        values.append(Decimal(f"{math.exp(log_nav):.4f}"))
    return tuple(values)


def history(product_id: str, end: date | None = None) -> tuple[tuple[date, Decimal], ...]:
    """(day, NAV) for every calendar day of the series that ends on ``end`` (default today),
    oldest first. KeyError for a product the catalogue does not have."""
    end = end or today()
    values = _values(product_id)
    first = end - timedelta(days=len(values) - 1)
    return tuple((first + timedelta(days=i), nav) for i, nav in enumerate(values))


def nav_on(product_id: str, day: date, end: date | None = None) -> Decimal:
    """The NAV on ``day`` in the series ending on ``end``; a day before the series began gets its
    first NAV, a day after ``end`` the last one."""
    series = history(product_id, end)
    offset = (day - series[0][0]).days
    return series[min(max(offset, 0), len(series) - 1)][1]
