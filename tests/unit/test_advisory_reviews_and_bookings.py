"""Advisor-review flags for holdings above the level (idempotent per customer, product and level;
listed for the copilot; closed by an advisor) and advisor bookings (stored masked, listed)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.advisory import bookings, holdings, review_flags, valuation
from bot.compliance import risk_profile


def test_a_holding_above_the_level_is_flagged_once_however_often_it_is_seen():
    folio = valuation.portfolio("demo-c2")  # holds AX-HF-01 (R3) at C2
    first = review_flags.flag_holdings_above_level(folio)
    assert [(f.product_id, f.product_risk, f.customer_level, f.status, f.new) for f in first] == \
        [("AX-HF-01", "R3", "C2", "open", True)]
    again = review_flags.flag_holdings_above_level(valuation.portfolio("demo-c2"))
    assert [(f.id, f.new) for f in again] == [(first[0].id, False)]
    assert [f.id for f in review_flags.open_review_flags("demo-c2")] == [first[0].id]


def test_concurrent_turns_raise_one_flag():
    folio = valuation.portfolio("demo-senior")
    review_flags.open_review_flags()  # migrate before the threads race
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: review_flags.flag_holdings_above_level(folio), range(8)))
    assert sum(f.new for flags in results for f in flags) == 1
    assert len(review_flags.open_review_flags("demo-senior")) == 1


def test_lots_of_one_product_make_one_flag_and_a_new_level_a_new_flag(monkeypatch):
    monkeypatch.setenv("ANXIN_DEMO_MODE", "0")
    for day in (date(2026, 2, 1), date(2026, 4, 1)):
        holdings.record_purchase("C3001", "AX-EF-03", Decimal("100"), Decimal("100"), day)
    holdings.record_purchase("C3001", "AX-BF-01", Decimal("100"), Decimal("100"), date(2026, 2, 1))
    risk_profile.save("C3001", "C3")
    flags = review_flags.flag_holdings_above_level(valuation.portfolio("C3001"))
    assert [(f.product_id, f.customer_level) for f in flags] == [("AX-EF-03", "C3")]
    risk_profile.save("C3001", "C2")
    flags = review_flags.flag_holdings_above_level(valuation.portfolio("C3001"))
    assert sorted((f.product_id, f.customer_level, f.new) for f in flags) == \
        [("AX-EF-03", "C2", True)]  # R2 bond within C2; the R5 fund flagged again at the new level
    assert len(review_flags.open_review_flags("C3001")) == 2


def test_nothing_is_flagged_within_the_level_or_without_a_valid_assessment(monkeypatch):
    assert review_flags.flag_holdings_above_level(valuation.portfolio("demo-c4")) == []
    assert review_flags.flag_holdings_above_level(valuation.portfolio("demo-expired")) == []
    monkeypatch.setenv("ANXIN_DEMO_MODE", "0")
    holdings.record_purchase("C3002", "AX-EF-03", Decimal("1"), Decimal("1"), date(2026, 2, 1))
    risk_profile.save("C3002", "C1", assessed_at=datetime.now(timezone.utc) - timedelta(days=500))
    assert review_flags.flag_holdings_above_level(valuation.portfolio("C3002")) == []


def test_an_advisor_closes_a_flag_and_it_leaves_the_copilots_list_for_good():
    flag = review_flags.flag_holdings_above_level(valuation.portfolio("demo-c2"))[0]
    other = review_flags.flag_holdings_above_level(valuation.portfolio("demo-senior"))[0]
    assert [f.id for f in review_flags.open_review_flags()] == [flag.id, other.id]
    assert review_flags.close_review_flag(flag.id, "agent-7", "talked it through") is True
    assert review_flags.close_review_flag(flag.id, "agent-7") is False
    assert [f.id for f in review_flags.open_review_flags()] == [other.id]
    assert review_flags.flag_holdings_above_level(valuation.portfolio("demo-c2"))[0].status == "closed"


def test_bookings_are_stored_listed_for_the_customer_and_the_copilot_and_closed():
    first = bookings.book_advisor("demo-c4", "周五下午 3 点", "我的股票基金跌了", "zh")
    second = bookings.book_advisor("demo-c2", "", None, "en")
    assert (first.preferred_time, first.topic, first.status) == ("周五下午 3 点", "我的股票基金跌了", "requested")
    assert (second.preferred_time, second.topic) == ("time to be agreed", "holdings and allocation")
    assert [b.id for b in bookings.open_bookings("demo-c4")] == [first.id]
    assert [b.id for b in bookings.open_bookings()] == [first.id, second.id]
    assert bookings.set_booking_status(first.id, "confirmed") and bookings.open_bookings("demo-c4")[0].status == \
        "confirmed"
    assert bookings.set_booking_status(first.id, "done")
    assert bookings.open_bookings("demo-c4") == [] and [b.id for b in bookings.open_bookings()] == [second.id]
    assert bookings.set_booking_status(9999, "done") is False
    with pytest.raises(ValueError):
        bookings.set_booking_status(second.id, "lost")


def test_personal_numbers_typed_into_a_booking_are_masked_and_long_text_is_cut():
    booking = bookings.book_advisor("demo-c3", "call me on 13912345678", "卡号 6222020000001234 " + "很" * 900)
    assert "13912345678" not in booking.preferred_time and "5678" in booking.preferred_time
    assert "6222020000001234" not in booking.topic and len(booking.topic) == bookings.TOPIC_CHARS


def test_booking_messages_name_the_time_and_topic():
    made = bookings.book_advisor("demo-c5", "Monday 10am", "rebalancing", "en")
    assert bookings.booking_message("demo-c5", "en", just_made=made) == (
        "Your talk with an advisor is requested: Monday 10am, about rebalancing. "
        "The advisor will confirm with you before then.")
    assert bookings.booking_message("demo-c5", "zh") == "您已有 1 个待处理的理财顾问预约：Monday 10am（rebalancing）。"
    assert bookings.booking_message("demo-c1", "en") == "You have no advisor bookings pending."
