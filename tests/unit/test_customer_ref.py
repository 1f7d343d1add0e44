"""The exact customer reference (bot/compliance/customer_ref.py) and what is decided on it: agents'
access (bot/copilot/scope.py), handoffs by customer, the audit trail's customer search. Two
customers whose ids mask alike (``demo-138****0003``) must never be taken for each other."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from sqlalchemy import select

from bot import db, handoff
from bot.compliance import audit
from bot.compliance.customer_ref import customer_ref, is_display_form
from bot.compliance.masking import mask
from bot.console import search
from bot.copilot import agents, scope

ONE, OTHER = "demo-13800000003", "demo-13899990003"


def test_two_customers_sharing_a_mask_have_different_references():
    assert mask(ONE) == mask(OTHER) == "demo-138****0003"
    assert customer_ref(ONE) != customer_ref(OTHER)
    assert customer_ref(ONE) == customer_ref(ONE) and len(customer_ref(ONE)) == 64
    int(customer_ref(ONE), 16)  # hex


def test_the_reference_is_keyed_by_a_key_derived_from_the_audit_key(monkeypatch):
    monkeypatch.setenv("ANXIN_AUDIT_KEY", "k" * 32)
    derived = hmac.new(b"k" * 32, b"customer-ref", hashlib.sha256).digest()
    assert customer_ref(ONE) == hmac.new(derived, ONE.encode(), hashlib.sha256).hexdigest()
    assert customer_ref(ONE) != hashlib.sha256(ONE.encode()).hexdigest()  # not recomputable from a guess
    assert customer_ref(ONE) != hmac.new(b"k" * 32, ONE.encode(), hashlib.sha256).hexdigest()  # not the audit key
    before = customer_ref(ONE)
    monkeypatch.setenv("ANXIN_AUDIT_KEY", "j" * 32)
    assert customer_ref(ONE) != before


@pytest.mark.parametrize("not_an_id", ["", "demo-138****0003", "oAbc…wxyz", None])
def test_a_masked_or_empty_id_has_no_reference(not_an_id):
    with pytest.raises(ValueError):
        customer_ref(not_an_id)
    assert not_an_id is None or not_an_id == "" or is_display_form(not_an_id)


def agent(agent_id: str) -> agents.Agent:
    agents.add(agent_id, agent_id, "agent")
    return agents.get(agent_id)


def test_handling_one_customer_gives_nothing_of_the_other_sharing_the_mask():
    handoff.record(OTHER, {"reason": "asked"})
    [mine] = handoff.recent(OTHER)
    assert handoff.recent(ONE) == []  # the handoffs by customer are exact
    li = agent("li.wei")
    scope.claim(li, mine.id)
    assert scope.customer_grant(li, OTHER).handoff_id == mine.id
    with pytest.raises(scope.ScopeError) as refused:
        scope.customer_grant(li, ONE)
    assert (refused.value.status, refused.value.reason) == (403, "not_handling")


def test_break_glass_on_one_customer_does_not_open_the_others_handoff():
    handoff.record(ONE, {"reason": "asked"})
    [theirs] = handoff.recent(ONE)
    li = agent("li.wei")
    scope.break_glass(li, OTHER, "客户来电核实持仓情况")
    with pytest.raises(scope.ScopeError) as refused:
        scope.handoff_reader(li, theirs)
    assert refused.value.reason == "handoff_not_yours"
    scope.break_glass(li, ONE, "客户来电核实持仓情况")
    assert scope.handoff_reader(li, theirs).startswith("break-glass")


def test_a_handoff_stored_before_references_opens_nobody():
    """A row from before revision compliance_0006: masked id only. Claiming it lets the agent read
    that handoff, never the data of a customer it might be."""
    with db.sessions(db.COMPLIANCE)() as session:
        session.add(handoff.HandoffRecord(at=handoff.datetime.now(handoff.timezone.utc), customer_id=mask(ONE),
                                          reason="asked", summary='{"reason": "asked"}'))
        session.commit()
    [old] = handoff.recent(ONE)
    assert old.customer_ref is None and handoff.recent(OTHER) == [old]  # listed by mask, as before
    li = agent("li.wei")
    grant, _ = scope.claim(li, old.id)
    assert grant.customer_ref is None and scope.handoff_reader(li, old).startswith("handling")
    for customer in (ONE, OTHER):
        assert scope.active(li.agent_id, customer) is None


def test_missing_foreign_team_and_crisis_handoffs_are_refused_alike():
    li = agent("li.wei")
    agents.add("zhou.jie", "zhou.jie", "agent", team="other")
    other_team = agents.get("zhou.jie")
    crisis = handoff.record(ONE, {"reason": "crisis", "urgent": True})
    answers = []
    for who, handoff_id in ((li, 999), (other_team, crisis), (li, crisis)):
        with pytest.raises(scope.ScopeError) as refused:
            scope.claim(who, handoff_id)
        answers.append((refused.value.status, refused.value.reason))
    assert answers == [(403, "handoff_not_yours")] * 3


@pytest.mark.parametrize("reason", ["\u200b" * 5, "." * 5, "。。。。。。", " \u200b.\u200d!\ufeff?—… ", "\u0000" * 6,
                                    "ab\u200bc.d", None, 12345,
                                    # the red team's re-test: blank Hangul fillers, one letter repeated
                                    "\u3164" * 6, "\uffa0" * 6, "\u115f\u1160" * 3, "ー" * 5, "々" * 5, "ˇ" * 5])
def test_a_break_glass_reason_needs_five_visible_letters_or_digits(reason):
    with pytest.raises(scope.ScopeError) as refused:
        scope.clean_reason(reason)
    assert (refused.value.status, refused.value.reason) == (400, "reason_required")


@pytest.mark.parametrize("reason,stored", [("核实持仓情况", "核实持仓情况"), ("call 12345", "call 12345"),
                                           ("check\u200b the  case 42", "check the case 42")])
def test_a_reason_in_words_is_kept_without_invisible_characters(reason, stored):
    assert scope.clean_reason(reason) == stored


def test_new_audit_records_carry_the_exact_reference_and_the_chain_still_verifies():
    old = audit.record(ONE, "warning", customer_ref=None)  # as written before references: none
    one, other = audit.record(ONE, "warning"), audit.record(OTHER, "warning")
    masked_only = audit.record(mask(ONE), "console_read")  # a record made for a masked id: none
    with db.sessions(db.COMPLIANCE)() as session:
        refs = dict(session.execute(select(audit.AuditRecord.id, audit.AuditRecord.customer_ref)).all())
    assert refs == {old: None, one: customer_ref(ONE), other: customer_ref(OTHER), masked_only: None}
    assert audit.verify().ok
    assert [e.id for e in audit.history(ONE)] == [old, one, masked_only]
    assert [e.id for e in audit.history(OTHER)] == [old, other, masked_only]  # those without one: by mask
    exact = search.search(search.Filter.of({"customer": OTHER}))
    assert [r["id"] for r in exact["records"]] == [masked_only, other, old]
    by_mask = search.search(search.Filter.of({"customer": mask(OTHER)}))
    assert [r["id"] for r in by_mask["records"]] == [masked_only, other, one, old]
    assert OTHER not in repr(search.Filter.of({"customer": OTHER}))


def test_a_reference_cannot_be_changed_without_breaking_the_chain():
    """The reference is part of the record's hash: pointing a record at another customer shows."""
    record_id = audit.record(ONE, "warning")
    with db.sessions(db.COMPLIANCE)() as session:
        connection = session.connection()
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_no_update")
        connection.exec_driver_sql("UPDATE audit_events SET customer_ref = ? WHERE id = ?",
                                   (customer_ref(OTHER), record_id))
        session.commit()
    assert [f.kind for f in audit.verify().findings] == ["hash_mismatch"]
