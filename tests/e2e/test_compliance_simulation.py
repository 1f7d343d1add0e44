"""1,000 generated conversations through the real dialogue, judged by the independent oracle
(bench/compliance_oracle.py): no failure of any kind."""

from bench.compliance_oracle import KINDS
from bench.compliance_simulation import audited, report, run


def test_thousand_conversations_keep_every_compliance_invariant(servers):
    stats = run(servers.rasa_url, servers.app_jwt_secret, conversations=1000, seed=7)
    print("\n" + report(stats))
    assert stats.conversations == 1000
    # the conversations exercised what is checked
    assert stats.presented > 500 and stats.refusal_turns > 50 and stats.anxious_turns > 100
    assert stats.no_level_requests > 100 and stats.senior_product_turns > 20 and stats.questionnaires == 50
    expected, audited_count = audited(stats)
    assert expected > 500 and audited_count == expected
    counts = {kind: stats.counts[kind] for kind in KINDS}
    assert counts == dict.fromkeys(KINDS, 0), report(stats, listed=40)
