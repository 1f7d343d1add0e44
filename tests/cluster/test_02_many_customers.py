"""Twenty customers at once, spread over the replicas: each sees only their own account."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from tests.cluster.conftest import Customer, assert_whole_turns, events, probes

CUSTOMERS = 20


def test_no_cross_talk_between_concurrent_customers(cluster, tracker_db, bank):
    customers = [Customer() for _ in range(CUSTOMERS)]
    balances = {c.id: Decimal("10000.00") + Decimal("1111.11") * n for n, c in enumerate(customers)}
    for customer in customers:
        bank.open_account(customer.id, display_name="Cluster test", balance=balances[customer.id],
                          account_no="6222020000001234", payees=[])
    shown = {c.id: f"{balances[c.id]:,.2f}" for c in customers}
    targets = [cluster.rasa_url, cluster.replica_url(1), cluster.replica_url(2)]

    def conversation(n: int) -> list:
        customer = customers[n]
        return [customer.post(targets[(n + turn) % len(targets)], "/check_balance", f"{customer.id}-{turn}")
                for turn in range(2)]

    with ThreadPoolExecutor(CUSTOMERS) as pool:
        replies = list(pool.map(conversation, range(CUSTOMERS)))
    for customer, pair in zip(customers, replies, strict=True):
        assert [r.status_code for r in pair] == [200, 200], [r.text for r in pair]
        for reply in pair:
            texts = " ".join(m.get("text", "") for m in reply.json())
            assert shown[customer.id] in texts
            assert not [other for other, amount in shown.items() if other != customer.id and amount in texts]
            assert {m["recipient_id"] for m in reply.json()} == {customer.id}
        stored = events(tracker_db, customer.id)
        assert len(assert_whole_turns(stored)) == 2
        assert probes(stored) == [f"{customer.id}-0", f"{customer.id}-1"]
