from decimal import Decimal

import pytest

from bot.accounts.amounts import parse_amount, read_amount


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
    ("10,000", "10000.00"),
    ("1,000,000.50", "1000000.50"),
    ("１００元", "100.00"),  # full-width digits
    ("1.555万", "15550.00"),
    ("转100，给李四", "100.00"),  # a comma after the number is punctuation
    ("转给张三三百元", "300.00"),
])
def test_reads_amounts_as_customers_type_them(text, expected):
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", [None, "", "张三", "一点点", "0", "-5", "转100还是200"])
def test_refuses_anything_not_a_single_positive_amount(text):
    assert parse_amount(text) is None


@pytest.mark.parametrize("text", ["−100", "-100", "－100", "负100", "负一百", "给张三转账−100元", "minus 100",
                                  "张三-100", "- 100"])
def test_a_negative_amount_is_refused_as_negative_never_read_without_its_sign(text):
    assert read_amount(text).problem == "negative" and parse_amount(text) is None


@pytest.mark.parametrize("text", ["1,000,0", "给张三转1,000,0元", "1,0000", "10,00", "1.5.3", "99.555", "0.001"])
def test_malformed_grouping_or_decimals_are_refused_never_guessed(text):
    reading = read_amount(text)
    assert reading.problem == "malformed" and reading.value is None and reading.typed


@pytest.mark.parametrize("text, problem", [("0", "not_positive"), ("转100还是200", "several"), ("张三", "none"),
                                           (None, "none"), ("100-200", "several"),
                                           ("100，200", "several")])
def test_every_refusal_names_its_reason(text, problem):
    assert read_amount(text).problem == problem
