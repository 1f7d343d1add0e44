"""The demo NAV series (bot/advisory/nav.py): deterministic from its seed, a few hundred days,
and plausible for each risk level: R1 never falls, R2 moves a little, R4/R5 swing like equities
with real drawdowns; the demo's story (an equity fund about 20% below its peak) holds."""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal

import pytest

from bot.advisory import nav
from bot.compliance import catalogue

END = date(2026, 11, 24)
ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def values(product_id: str, end: date = END) -> list[Decimal]:
    return [v for _, v in nav.history(product_id, end)]


def max_drawdown(series: list[Decimal]) -> float:
    peak, worst = series[0], 0.0
    for v in series:
        peak = max(peak, v)
        worst = min(worst, float(v / peak - 1))
    return worst


def daily_volatility(series: list[Decimal]) -> float:
    return statistics.pstdev(math.log(series[i] / series[i - 1]) for i in range(1, len(series)))


def by_level(level: str) -> list[catalogue.Product]:
    return [p for p in catalogue.products() if p.risk == level]


def test_series_cover_a_few_hundred_consecutive_days_ending_on_the_day_asked():
    series = nav.history("AX-EF-01", END)
    assert 300 <= len(series) <= 1000
    assert series[-1][0] == END and series[0][1] == Decimal("1.0000")
    assert all(b[0] - a[0] == timedelta(days=1) for a, b in zip(series, series[1:], strict=False))
    assert all(v.as_tuple().exponent == -4 for _, v in series)  # published to four places


def test_the_same_seed_gives_the_same_numbers_in_a_fresh_process():
    here = [str(v) for v in values("AX-EF-03")]
    code = ("from datetime import date; from bot.advisory import nav; "
            "print(','.join(str(v) for _, v in nav.history('AX-EF-03', date(2026, 11, 24))))")
    fresh = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert fresh.stdout.strip().split(",") == here


def test_each_product_has_its_own_path_and_the_shape_does_not_depend_on_the_end_day():
    assert values("AX-EF-01") != values("AX-EF-02")
    assert values("AX-EF-01", END) == values("AX-EF-01", END + timedelta(days=30))


@pytest.mark.parametrize("product", by_level("R1"), ids=lambda p: p.id)
def test_r1_deposits_and_money_market_funds_never_fall(product):
    series = values(product.id)
    assert all(b >= a for a, b in zip(series, series[1:], strict=False))
    assert series[-1] > series[0]


@pytest.mark.parametrize("product", by_level("R2"), ids=lambda p: p.id)
def test_r2_products_move_a_little(product):
    series = values(product.id)
    assert -0.05 < max_drawdown(series) < 0  # they do fall, but only a little
    assert max(abs(float(series[i] / series[i - 1] - 1)) for i in range(1, len(series))) < 0.01
    assert daily_volatility(series) < 0.002


@pytest.mark.parametrize("product", by_level("R4") + by_level("R5"), ids=lambda p: p.id)
def test_r4_and_r5_products_swing_like_equities_with_real_drawdowns(product):
    series = values(product.id)
    assert max_drawdown(series) < -0.15
    assert 0.005 < daily_volatility(series) < 0.03  # ~8% to ~48% a year
    assert min(series) > Decimal("0.4")


def test_volatility_rises_with_the_risk_level():
    mean_vol = {level: statistics.mean(daily_volatility(values(p.id)) for p in by_level(level))
                for level in catalogue.RISK_LEVELS}
    ordered = [mean_vol[level] for level in catalogue.RISK_LEVELS]
    assert ordered == sorted(ordered) and ordered[0] < 0.0001  # R1: accrual only, moved by rounding


def test_the_demo_story_an_equity_fund_about_a_fifth_below_its_peak():
    series = values("AX-EF-01")
    assert -0.25 < float(series[-1] / max(series) - 1) < -0.17


def test_nav_on_a_day_outside_the_series_takes_its_nearest_end():
    series = nav.history("AX-BF-01", END)
    assert nav.nav_on("AX-BF-01", series[0][0] - timedelta(days=400), END) == series[0][1]
    assert nav.nav_on("AX-BF-01", END + timedelta(days=3), END) == series[-1][1]
    assert nav.nav_on("AX-BF-01", series[10][0], END) == series[10][1]


def test_a_product_not_in_the_catalogue_has_no_series():
    with pytest.raises(KeyError, match="AX-NOPE"):
        nav.history("AX-NOPE", END)
