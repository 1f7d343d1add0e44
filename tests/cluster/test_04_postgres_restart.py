"""PostgreSQL restarted under load: the servers recover by themselves (no restart of theirs),
every turn sent once it is back succeeds, and no turn is stored twice."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tests.cluster.conftest import Customer, assert_whole_turns, events, probes

CUSTOMERS, TURNS = 4, 7


def test_servers_ride_out_a_postgresql_restart(cluster, tracker_db):
    pids = {name: process.pid for name, process in cluster.processes.items()}
    customers = [Customer() for _ in range(CUSTOMERS)]
    targets = [cluster.rasa_url, cluster.replica_url(1), cluster.replica_url(2)]
    restarted = threading.Event()
    restarted_at: list[float] = []

    def conversation(n: int) -> list[tuple[str, float, int]]:
        done = []
        for turn in range(TURNS):
            if turn == 2:
                restarted.wait(60)  # the later turns are all sent once PostgreSQL is back
            began = time.monotonic()
            reply = customers[n].post(targets[(n + turn) % len(targets)], "/check_balance", f"t{turn}")
            done.append((f"t{turn}", began, reply.status_code))
        return done

    with ThreadPoolExecutor(CUSTOMERS + 1) as pool:
        running = [pool.submit(conversation, n) for n in range(CUSTOMERS)]
        time.sleep(1)  # the first turns are in flight
        cluster.postgres.restart()
        restarted_at.append(time.monotonic())
        restarted.set()
        results = [future.result() for future in running]

    assert {name: process.pid for name, process in cluster.processes.items()} == pids
    assert all(process.poll() is None for process in cluster.processes.values())
    for customer, done in zip(customers, results, strict=True):
        after = [(probe, status) for probe, began, status in done if began >= restarted_at[0]]
        assert len(after) >= TURNS - 2 and all(status == 200 for _, status in after), done
        stored = events(tracker_db, customer.id)
        assert_whole_turns(stored)
        stored_probes = probes(stored)
        assert len(stored_probes) == len(set(stored_probes))  # no turn stored twice
        assert {probe for probe, status in after} <= set(stored_probes)
        assert {probe for probe, _, status in done if status == 200} <= set(stored_probes)
