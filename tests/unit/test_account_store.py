from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from bot.accounts import store


def test_new_customers_get_their_own_seeded_account():
    first = store.account("alice-1")
    assert first.balance == Decimal("12345.67") and first.currency == "CNY"
    assert "张三" in first.payees and "Alice Wang" in first.payees
    store.transfer("alice-1", "张三", Decimal("100"))
    assert store.account("alice-1").balance == Decimal("12245.67")
    assert store.account("bob-2").balance == Decimal("12345.67")  # untouched


def test_named_demo_customers_use_their_profile():
    assert store.account("demo-low-balance").balance == Decimal("50.00")


def test_find_payee_matches_saved_names_only():
    assert store.find_payee("c", "张三") == "张三"
    assert store.find_payee("c", "转给李四吧") == "李四"
    assert store.find_payee("c", "alice") == "Alice Wang"
    assert store.find_payee("c", "王五") is None
    assert store.find_payee("c", "") is None


def test_transfer_refuses_insufficient_funds_and_unknown_payees():
    outcome = store.transfer("demo-low-balance", "张三", Decimal("50.01"))
    assert outcome.status == "insufficient_funds" and outcome.balance == Decimal("50.00")
    assert store.transfer("c", "王五", Decimal("1")).status == "unknown_payee"
    assert store.account("c").balance == Decimal("12345.67")


def test_concurrent_transfers_never_overdraw():
    store.account("race")  # 12,345.67 available: at most 12 transfers of 1,000 fit
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: store.transfer("race", "李四", Decimal("1000")), range(20)))
    assert sum(o.status == "ok" for o in outcomes) == 12
    assert store.account("race").balance == Decimal("345.67")
