"""1,000 generated conversations through the real dialogue: the compliance invariants hold."""

import time

from bench.compliance_simulation import audited, report, run


def test_thousand_conversations_keep_every_compliance_invariant(servers):
    began = time.monotonic()
    stats = run(servers.rasa_url, servers.app_jwt_secret, conversations=1000, seed=7)
    print("\n" + report(stats, time.monotonic() - began))
    assert stats.conversations == 1000
    assert stats.presented > 500 and stats.product_messages > stats.presented  # the test exercised products
    assert stats.above_level == 0, stats.problems[:5]
    assert stats.warned == stats.product_messages, stats.problems[:5]
    assert stats.forbidden == 0, stats.problems[:5]
    expected, audited_count = audited(stats)
    assert expected > 0 and audited_count == expected
