import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import sqlalchemy

from bot import settings
from bot.accounts import store


def key() -> str:
    return uuid.uuid4().hex


def test_new_customers_get_their_own_seeded_account_in_demo_mode():
    first = store.account("alice-1")
    assert first.balance == Decimal("12345.67") and first.currency == "CNY"
    assert "张三" in first.payees and "Alice Wang" in first.payees
    store.transfer("alice-1", "张三", Decimal("100"), key())
    assert store.account("alice-1").balance == Decimal("12245.67")
    assert store.account("bob-2").balance == Decimal("12345.67")  # untouched


def test_without_demo_mode_an_unknown_customer_has_no_account(monkeypatch):
    monkeypatch.setenv("ANXIN_DEMO_MODE", "0")
    assert store.account("demo-rich") is None
    assert store.transfer("demo-rich", "张三", Decimal("1"), key()).status == "no_account"
    assert store.customer_by_phone("13800000001") is None
    store.open_account("C1001", display_name="Real Customer", balance=Decimal("10.50"),
                       account_no="6222000011112222", payees=[{"name": "李四", "account_no": "1"}],
                       phone="13900000009")
    assert store.account("C1001").balance == Decimal("10.50")
    assert store.customer_by_phone("13900000009") == "C1001"


def test_named_demo_customers_use_their_profile():
    assert store.account("demo-low-balance").balance == Decimal("50.00")
    assert store.customer_by_phone("13800000001") == "demo-rich"  # opened on lookup in demo mode


def test_find_payee_matches_saved_names_only():
    assert store.find_payee("c", "张三") == "张三"
    assert store.find_payee("c", "转给李四吧") == "李四"
    assert store.find_payee("c", "alice") == "Alice Wang"
    assert store.find_payee("c", "王五") is None
    assert store.find_payee("c", "") is None
    assert store.find_payee("c", "轉給張三") == "张三"  # traditional characters


def test_transfer_refuses_insufficient_funds_and_unknown_payees():
    outcome = store.transfer("demo-low-balance", "张三", Decimal("50.01"), key())
    assert outcome.status == "insufficient_funds" and outcome.balance == Decimal("50.00")
    assert store.transfer("c", "王五", Decimal("1"), key()).status == "unknown_payee"
    assert store.account("c").balance == Decimal("12345.67")


def test_concurrent_transfers_never_overdraw():
    store.account("race")  # 12,345.67 available: at most 12 transfers of 1,000 fit
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: store.transfer("race", "李四", Decimal("1000"), key()), range(20)))
    assert sum(o.status == "ok" for o in outcomes) == 12
    assert store.account("race").balance == Decimal("345.67")


def test_the_same_transfer_posted_twice_moves_money_once_even_concurrently():
    same = key()
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(lambda _: store.transfer("twice", "张三", Decimal("100"), same), range(6)))
    assert sorted(o.status for o in outcomes).count("ok") == 1
    assert {o.status for o in outcomes} == {"ok", "already_done"}
    assert store.account("twice").balance == Decimal("12245.67")


def test_amounts_are_exact_integer_fen_in_the_database():
    store.transfer("exact", "张三", Decimal("0.10"), key())
    store.transfer("exact", "张三", Decimal("0.20"), key())
    assert store.account("exact").balance == Decimal("12345.37")  # a float sum would drift
    engine = sqlalchemy.create_engine(settings.bank_db_url())
    with engine.connect() as connection:
        stored = connection.execute(sqlalchemy.text(
            "SELECT balance_fen FROM bank_accounts WHERE customer_id = 'exact'")).scalar_one()
    assert stored == 1234537 and isinstance(stored, int)
    with pytest.raises(ValueError):
        store.to_fen(Decimal("1.005"))


def test_daily_limit_counts_every_transfer_of_the_day(monkeypatch):
    monkeypatch.setenv("ANXIN_DAILY_TRANSFER_LIMIT", "1000")
    assert store.transfer("limited", "张三", Decimal("600"), key()).status == "ok"
    refused = store.transfer("limited", "李四", Decimal("500"), key())
    assert refused.status == "over_daily_limit" and refused.limit_left == Decimal("400.00")
    assert store.account("limited").balance == Decimal("11745.67")
    assert store.transfer("limited", "李四", Decimal("400"), key()).status == "ok"


def test_concurrent_transfers_never_pass_the_daily_limit(monkeypatch):
    monkeypatch.setenv("ANXIN_DAILY_TRANSFER_LIMIT", "1000")
    store.account("limit-race")
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: store.transfer("limit-race", "李四", Decimal("300"), key()), range(10)))
    assert sum(o.status == "ok" for o in outcomes) == 3
    assert store.transferred_today("limit-race") == Decimal("900.00")
