"""1,000 generated conversations through the real dialogue, judged by the independent oracle
(bench/compliance_oracle.py): no compliance breach of any kind.

One kind of failure is a dialogue-quality weakness, not a breach, and is bounded here instead
of required to be zero: a product request from a customer without a valid assessment that
gets no questionnaire offer (the NLU misreads e.g. "can i buy the Anxin Balanced Hybrid?" as a
balance question; no product is shown). It was 55 / 459 at first, 8 / 459 after 18 NLU
examples (2026-11-24); the bench (`python -m bench.compliance_simulation`) still counts it as
a failure and exits 1. The bound is loose so that another machine's NLU training does not
decide the test; it catches a regression to the first state.
"""

from bench.compliance_oracle import KINDS
from bench.compliance_simulation import audited, report, run

QUALITY = "questionnaire_not_offered"


def test_thousand_conversations_keep_every_compliance_invariant(servers):
    stats = run(servers.rasa_url, servers.app_jwt_secret, conversations=1000, seed=7)
    print("\n" + report(stats))
    assert stats.conversations == 1000
    # the conversations exercised what is checked
    assert stats.presented > 500 and stats.refusal_turns > 50 and stats.anxious_turns > 100
    assert stats.no_level_requests > 100 and stats.senior_product_turns > 20 and stats.questionnaires == 50
    expected, audited_count = audited(stats)
    assert expected > 500 and audited_count == expected
    breaches = {kind: stats.counts[kind] for kind in KINDS if kind != QUALITY}
    assert breaches == dict.fromkeys(breaches, 0), report(stats, listed=40)
    assert stats.counts[QUALITY] <= 0.05 * stats.no_level_requests, report(stats, listed=40)
