"""Messages of one conversation sent at once to different replicas (directly and through
HAProxy) are processed one turn at a time, each exactly once, with every turn whole."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.cluster.conftest import CUSTOMER_LIMIT, Customer, assert_whole_turns, events, probes

MESSAGES = 8


def test_concurrent_messages_of_one_conversation_are_serialised(cluster, tracker_db):
    customer = Customer()
    targets = [cluster.replica_url(1), cluster.replica_url(2), cluster.rasa_url]
    with ThreadPoolExecutor(MESSAGES) as pool:
        replies = list(pool.map(lambda n: customer.post(targets[n % len(targets)], "/check_balance", f"p{n}"),
                                range(MESSAGES)))
    assert [r.status_code for r in replies] == [200] * MESSAGES, [r.text for r in replies]
    assert all("12,345.67" in r.json()[0]["text"] for r in replies)
    stored = events(tracker_db, customer.id)
    split = assert_whole_turns(stored)
    assert len(split) == MESSAGES
    assert sorted(probes(stored)) == sorted(f"p{n}" for n in range(MESSAGES))  # each once, none lost
    stamps = [e["timestamp"] for e in stored]
    assert stamps == sorted(stamps)  # stored in the order they happened


def test_rate_limit_is_counted_across_replicas(cluster):
    """The per-customer limit is one count in Redis: half the messages on each replica reach it."""
    customer = Customer()
    codes = [customer.post(cluster.replica_url(1 + n % 2), "/greet").status_code for n in range(CUSTOMER_LIMIT)]
    assert codes == [200] * CUSTOMER_LIMIT
    over = [customer.post(url, "/greet") for url in (cluster.replica_url(1), cluster.replica_url(2))]
    assert [r.status_code for r in over] == [429, 429] and all(int(r.headers["Retry-After"]) >= 1 for r in over)
