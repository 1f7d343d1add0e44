"""The compliance oracle catches a broken bot: real servers whose action server loads
tests/e2e/broken_actions.py (a product named before the warning, by full name or by short name
and id, both blocked by the guard, and a product above the customer's level after a proper
warning, which the guard lets through).

Its own servers (ports 5405/5455/5477 unless ANXIN_E2E_BROKEN_*_PORT say otherwise, their own
state folder) run only while the module's conversations run, before the session's servers are
needed by the next module.
"""

from __future__ import annotations

import contextlib
import os

import pytest

from bench.compliance_simulation import report, run
from bot.compliance import audit
from bot.servers import Servers
from tests.e2e.broken_actions import variant_of

CONVERSATIONS = 60


@pytest.fixture(scope="module")
def broken_state(tmp_path_factory):
    return tmp_path_factory.mktemp("broken-state")


@contextlib.contextmanager
def state_dir(path):
    """This process reads (and the simulation writes risk levels into) the broken servers' state
    folder, as they do: in demo mode (its audit key file)."""
    names = ("ANXIN_STATE_DIR", "ANXIN_DEMO_MODE")
    before = {name: os.environ.get(name) for name in names}
    os.environ.update(ANXIN_STATE_DIR=str(path), ANXIN_DEMO_MODE="1")
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def broken_run(broken_state):
    state = broken_state
    servers = Servers(rasa_port=int(os.environ.get("ANXIN_E2E_BROKEN_RASA_PORT", 5405)),
                      action_port=int(os.environ.get("ANXIN_E2E_BROKEN_ACTION_PORT", 5455)),
                      copilot_port=int(os.environ.get("ANXIN_E2E_BROKEN_COPILOT_PORT", 5477)),
                      app_jwt_secret="broken-actions-app-key-" + os.urandom(8).hex(),
                      actions_package="tests.e2e.broken_actions",
                      environment={"ANXIN_STATE_DIR": str(state), "ANXIN_DEMO_MODE": "1",
                                   "ANXIN_RATE_LIMIT_ADDRESS": "off"})
    # the simulation sets risk levels and reads the audit trail there
    with state_dir(state):
        try:
            servers.start(timeout=240)
            stats = run(servers.rasa_url, servers.app_jwt_secret, conversations=CONVERSATIONS, seed=11)
        finally:
            servers.stop()
    print("\n" + report(stats, listed=30))
    return stats


def test_the_broken_actions_ran_through_real_servers(broken_run):
    assert broken_run.conversations == CONVERSATIONS
    assert broken_run.counts["non_200"] == 0
    assert broken_run.product_turns > 10


def _customers(stats, kind: str) -> set[str]:
    return {f.customer for f in stats.failures if f.kind == kind}


def test_a_product_named_before_the_warning_is_a_guard_block_and_a_failure(broken_run):
    """By full name, or by short name and id: the guard replaced the early product message with its
    blocked reply, and the oracle counts that as a failed dialogue."""
    blocks = [f for f in broken_run.failures if f.kind == "guard_block"]
    assert blocks, "the guard replaced the early product line: the oracle must count it"
    assert all(f.turn >= 1 and f.message and f.customer.startswith("sim-11-") for f in blocks)  # listed where
    assert {variant_of(c) for c in _customers(broken_run, "guard_block")} == {"full_name_first", "short_name_first",
                                                                            "blocked_line"}


def test_the_audit_trail_holds_what_was_shown_not_what_was_intended(broken_run, broken_state):
    """The guard replaced the early product line with its blocked reply: the block is on record
    with the id of the message it replaced, and the simulation, counting from what the customers
    received, finds no suggestion, refusal or product on record that they did not see — though
    the blocked_line action asked for a record of the product whose line the guard blocked.
    What it finds missing is the broken action's own doing: its extra product line after a
    refusal is a product shown with no record."""
    blocked = _customers(broken_run, "guard_block")
    with state_dir(broken_state):
        trails = {customer: audit.history(customer) for customer in blocked}
        assert audit.verify().ok
    for customer, trail in trails.items():
        blocks = [e for e in trail if e.kind == "guard_block"]
        assert blocks and all(len(e.message_id or "") == 32 for e in blocks), customer
    assert broken_run.counts["audit_unshown"] == 0 and broken_run.audit_expected > 10
    assert "blocked_line" in {variant_of(c) for c in blocked}
    assert {variant_of(c) for c in _customers(broken_run, "audit_missing")} <= {"above_level"}


def test_no_product_reached_a_customer_before_the_warning(broken_run):
    """Short names and ids were the way past the guard before it read the catalogue's aliases and
    ids; the oracle, with its own matcher, finds none left."""
    assert _customers(broken_run, "warning_not_first") == set()


def test_a_product_above_the_level_after_a_proper_warning_is_caught(broken_run):
    above = [f for f in broken_run.failures if f.kind == "above_level"]
    assert above and all(" R5 shown to a C" in f.detail for f in above)
    assert {variant_of(c) for c in _customers(broken_run, "above_level")} == {"above_level"}


def test_the_run_as_a_whole_fails(broken_run):
    assert broken_run.failure_total > 0
    assert "FAILURES: 0" not in report(broken_run)
