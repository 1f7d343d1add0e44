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


@pytest.mark.parametrize("text, expected", [
    ("1亿", "100000000.00"), ("一亿", "100000000.00"), ("2千万", "20000000.00"), ("5百万", "5000000.00"),
    ("3百", "300.00"), ("三亿", None), ("1.5亿", None),
])
def test_every_chinese_unit_after_digits_counts_never_dropped(text, expected):
    """"3百" once read 3 and "1万亿" 10,000: a unit the reading did not know was dropped."""
    reading = read_amount(text)
    if expected is None:
        assert reading.problem == "too_large"
    else:
        assert reading.value == Decimal(expected), reading


@pytest.mark.parametrize("text, shown", [
    ("1万亿", "1,000,000,000,000.00"), ("一万亿", "1,000,000,000,000.00"), ("给张三转1万亿", "1,000,000,000,000.00"),
    ("三亿五千万", "350,000,000.00"), ("100000000.01", "100,000,000.01"),
])
def test_an_amount_above_the_maximum_is_refused_showing_how_it_was_read(text, shown):
    reading = read_amount(text)
    assert reading.problem == "too_large" and reading.value is None and reading.typed == shown


def test_a_number_too_long_for_decimal_arithmetic_is_too_large_not_an_error():
    reading = read_amount("9" * 1000)
    assert reading.problem == "too_large" and len(reading.typed) <= 41


@pytest.mark.parametrize("text", ["转100还是200", "给张三转100还是200", "100或者200", "1万5千", "转100元还是200元"])
def test_two_amounts_are_several_and_none_is_picked(text):
    assert read_amount(text).problem == "several" and parse_amount(text) is None
