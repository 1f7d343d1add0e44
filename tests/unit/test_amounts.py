from decimal import Decimal

import pytest

from bot.accounts.amounts import parse_amount


@pytest.mark.parametrize("text, expected", [
    ("500", "500.00"),
    ("500元", "500.00"),
    ("转1,000.50块给张三", "1000.50"),
    ("五百", "500.00"),
    ("一千二百", "1200.00"),
    ("两千", "2000.00"),
    ("三万五千", "35000.00"),
    ("十", "10.00"),
    ("十五", "15.00"),
    ("3万", "30000.00"),
    ("1.5万", "15000.00"),
    ("2k", "2000.00"),
    ("send 99.5 cny", "99.50"),
])
def test_reads_amounts_as_customers_type_them(text, expected):
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", [None, "", "张三", "一点点", "0", "-5", "转100还是200"])
def test_refuses_anything_not_a_single_positive_amount(text):
    assert parse_amount(text) is None
