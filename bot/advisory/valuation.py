"""What the customer's holdings are worth now, against what they paid and against their level.

Pure arithmetic over holdings, NAV series and the risk profile (``value``), plus one function
that fetches those for a customer (``portfolio``). Per holding: value now (units x today's NAV,
to the fen), gain or loss since purchase against the total paid (amount and %), the highest NAV
since purchase and how far today's NAV is below it, and whether its R-level is within the
customer's current C-level (``suitability.within_level``: the one home of R <= C). With no valid
assessment there is no current level (rule 2), so no comparison is made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from bot.advisory import holdings as holdings_store
from bot.advisory import nav
from bot.advisory.holdings import Holding
from bot.compliance import catalogue, risk_profile, suitability
from bot.compliance.catalogue import Product
from bot.compliance.risk_profile import RiskProfile

FEN = Decimal("0.01")
PERCENT = Decimal("0.01")
NavHistory = Callable[[str, date], tuple[tuple[date, Decimal], ...]]


@dataclass(frozen=True)
class HoldingValue:
    holding: Holding
    product: Product
    nav: Decimal           # today's NAV
    value: Decimal         # units x NAV, to the fen
    gain: Decimal          # value - cost (negative: a loss)
    gain_pct: Decimal      # gain / cost, in %
    peak_nav: Decimal      # highest NAV since purchase
    peak_day: date
    from_peak_pct: Decimal  # today's NAV against that peak, in % (0 or negative)
    within_level: bool | None  # None: no valid assessment to compare with
    as_of: date

    @property
    def held_days(self) -> int:
        return (self.as_of - self.holding.purchased_on).days


@dataclass(frozen=True)
class Portfolio:
    customer_id: str
    as_of: date
    holdings: tuple[HoldingValue, ...]
    total_value: Decimal
    total_cost: Decimal
    total_gain: Decimal
    total_gain_pct: Decimal
    profile: RiskProfile | None  # the newest assessment, valid or not
    level_valid: bool

    @property
    def level(self) -> str | None:
        """The customer's current C-level; None without a valid assessment."""
        return self.profile.level if self.level_valid else None

    @property
    def above_level(self) -> tuple[HoldingValue, ...]:
        return tuple(h for h in self.holdings if h.within_level is False)


def pct(part: Decimal, whole: Decimal) -> Decimal:
    return (Decimal(0) if not whole else part / whole * 100).quantize(PERCENT, rounding=ROUND_HALF_UP)


def product(product_id: str) -> Product:
    return next(p for p in catalogue.products() if p.id == product_id)


def value_holding(holding: Holding, profile: RiskProfile | None, as_of: date,
                  history: NavHistory = nav.history) -> HoldingValue:
    series = history(holding.product_id, as_of)
    since = [(day, v) for day, v in series if holding.purchased_on <= day <= as_of] or [series[-1]]
    today_nav = since[-1][1]
    peak_day, peak_nav = max(since, key=lambda point: (point[1], point[0]))
    value = (holding.units * today_nav).quantize(FEN, rounding=ROUND_HALF_UP)
    gain = value - holding.cost
    held = product(holding.product_id)
    valid = profile is not None and profile.is_valid()
    return HoldingValue(holding, held, today_nav, value, gain, pct(gain, holding.cost), peak_nav, peak_day,
                        pct(today_nav - peak_nav, peak_nav), suitability.within_level(held, profile) if valid else None,
                        as_of)


def value(customer_id: str, held: list[Holding], profile: RiskProfile | None, as_of: date,
          history: NavHistory = nav.history) -> Portfolio:
    """The portfolio of ``held`` on ``as_of``, judged against ``profile``."""
    valued = tuple(value_holding(h, profile, as_of, history) for h in held)
    total_value = sum((h.value for h in valued), Decimal("0.00"))
    total_cost = sum((h.holding.cost for h in valued), Decimal("0.00"))
    return Portfolio(customer_id, as_of, valued, total_value, total_cost, total_value - total_cost,
                     pct(total_value - total_cost, total_cost), profile,
                     profile is not None and profile.is_valid())


def portfolio(customer_id: str, as_of: date | None = None) -> Portfolio:
    """The customer's holdings valued today (bank calendar) against their current assessment."""
    return value(customer_id, holdings_store.holdings(customer_id), risk_profile.current(customer_id),
                 as_of or nav.today())


def value_over_time(held: list[Holding] | tuple[Holding, ...], as_of: date, days: int,
                    history: NavHistory = nav.history) -> list[tuple[date, Decimal]]:
    """(day, total value of what was held that day) for the ``days`` days ending ``as_of``."""
    series = {h.product_id: dict(history(h.product_id, as_of)) for h in held}
    points = []
    for offset in range(days - 1, -1, -1):
        day = as_of - timedelta(days=offset)
        total = sum((h.units * series[h.product_id][day] for h in held
                     if h.purchased_on <= day and day in series[h.product_id]), Decimal(0))
        points.append((day, total.quantize(FEN, rounding=ROUND_HALF_UP)))
    return points
