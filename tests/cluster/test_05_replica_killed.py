"""A Rasa replica killed under load: no conversation is lost (the next turns are served by the
other replica with the tracker intact) and no turn is processed twice. Runs last: the killed
replica stays down."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tests.cluster.conftest import Customer, assert_whole_turns, events, kill, probes

CUSTOMERS, TURNS, KILL_AFTER = 6, 6, 2


def test_killing_a_replica_loses_no_conversation(cluster, tracker_db):
    customers = [Customer() for _ in range(CUSTOMERS)]
    warmed = threading.Barrier(CUSTOMERS + 1)

    def conversation(customer: Customer) -> list[tuple[str, int, str]]:
        done = []
        for turn in range(TURNS):
            if turn == KILL_AFTER:
                warmed.wait(60)
            try:
                reply = customer.post(cluster.rasa_url, "/check_balance", f"k{turn}")
                done.append((f"k{turn}", reply.status_code, reply.headers.get("X-Anxin-Replica", "")))
            except OSError as error:  # the connection went down with the replica
                done.append((f"k{turn}", 0, str(error)))
        return done

    with ThreadPoolExecutor(CUSTOMERS) as pool:
        running = [pool.submit(conversation, c) for c in customers]
        warmed.wait(120)
        time.sleep(0.2)  # turns in flight on both replicas
        kill(cluster, "rasa-2")
        results = [future.result() for future in running]

    for customer, done in zip(customers, results, strict=True):
        assert [status for _, status, _ in done[:KILL_AFTER]] == [200] * KILL_AFTER, done
        assert done[-1][1] == 200 and done[-1][2] == "rasa-1", done  # the survivor serves the next turn
        stored = events(tracker_db, customer.id)
        assert_whole_turns(stored)
        stored_probes = probes(stored)
        assert len(stored_probes) == len(set(stored_probes)), stored_probes  # no turn twice
        answered = [probe for probe, status, _ in done if status == 200]
        assert set(answered) <= set(stored_probes)
        assert stored_probes[:KILL_AFTER] == ["k0", "k1"]  # the tracker from before is intact
    # before the kill both replicas served (so conversations did move to the survivor)
    assert {replica for done in results for _, status, replica in done[:KILL_AFTER]} == {"rasa-1", "rasa-2"}
