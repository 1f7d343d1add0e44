"""300 generated conversations through the real dialogue, and 60 advisory ones (needs-based
suggestions, holdings, worries about a loss, allocation reports; issue 14), judged by the
independent oracle (bench/compliance_oracle.py): no compliance breach of any kind — among them
no suggestion outside the customer's needs or level, no buy/sell/hold instruction or
prediction, no stated return, every held product above the level said to be, every report
page and PDF served with the warning and the past-performance caveat.

One kind of failure is a dialogue-quality weakness, not a breach, and is bounded here instead
of required to be zero: a product request from a customer without a valid assessment that
gets no questionnaire offer (the NLU misreads e.g. "can i buy the Anxin Balanced Hybrid?" as a
balance question; no product is shown). It was 55 / 459 at first, 8 / 459 after 18 NLU
examples (2026-11-24); the bench (`python -m bench.compliance_simulation`) still counts it as
a failure and exits 1. The bound is loose so that another machine's NLU training does not
decide the test; it catches a regression to the first state.

300 here to keep `make test` within its 20-minute budget (600 took ~4.5 minutes); the bench runs
1,000 (and 200 advisory) with the same judge, and its figures are the ones reported. The lower
bounds below are ~40% of what the bench's 1,000 + 200 exercised, scaled to these counts.
"""

from bench.compliance_oracle import KINDS
from bench.compliance_simulation import audited, report, run

QUALITY = "questionnaire_not_offered"
ADVISORY = 60
CONVERSATIONS = 300


def test_generated_conversations_keep_every_compliance_invariant(servers):
    stats = run(servers.rasa_url, servers.app_jwt_secret, conversations=CONVERSATIONS, seed=7, advisory=ADVISORY)
    print("\n" + report(stats))
    assert stats.conversations == CONVERSATIONS and stats.advisory_conversations == ADVISORY
    # the conversations exercised what is checked
    assert stats.presented > 150 and stats.refusal_turns > 30 and stats.anxious_turns > 40
    assert stats.no_level_requests > 50 and stats.senior_product_turns > 12 and stats.questionnaires == 15
    # the advisory conversations exercised what is checked
    assert stats.needs_turns > 12 and stats.needs_shown > 6 and stats.needs_funds_known == stats.needs_turns
    assert stats.holdings_summaries > 10 and stats.worry_turns > 10 and stats.held_above > 10
    assert stats.report_links > 10 and stats.reports_ok == stats.report_links
    expected, audited_count = audited(stats)
    assert expected > 200 and audited_count == expected
    breaches = {kind: stats.counts[kind] for kind in KINDS if kind != QUALITY}
    assert breaches == dict.fromkeys(breaches, 0), report(stats, listed=40)
    assert stats.counts[QUALITY] <= 0.05 * stats.no_level_requests, report(stats, listed=40)
