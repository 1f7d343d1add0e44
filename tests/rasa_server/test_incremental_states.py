"""Dialogue states extended turn by turn (bot/rasa_ext/incremental_states.py) are exactly the
states Rasa computes from the whole conversation as its featurizers use them (the states before
the last without the user text their ``_remove_user_text_if_intent`` drops), on the project's
own stories and rules; and what the featurizers make of them is the same to the last field."""

from __future__ import annotations

import json

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, UserUtteranceReverted, UserUttered, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext import incremental_states
from bot.rasa_ext.incremental_states import IncrementalStates
from tests.rasa_server.conftest import rasa_s_own


def _rule_only_data(domain):
    return {"slots": [domain.slots[0].name] if domain.slots else [], "active_loops": list(domain.form_names[:1])}


ARGUMENTS = [(False, False, None), (True, False, None), (False, True, "rule_only"), (True, True, "rule_only")]


def _RASA(domain, tracker, omit, ignore, rule_only):
    """Rasa's own computation, also when the incremental one is installed, as the featurizers
    use it: they drop a user text beside an intent from every state but the last."""
    with rasa_s_own():
        states = domain.states_for_tracker_history(tracker, omit, ignore, rule_only)
    for state in states[:-1]:
        user = state.get("user", {})
        if user.get("intent") and user.get("text"):
            del user["text"]
    return states


def test_states_grown_event_by_event_equal_rasa_s_on_every_story_and_rule(domain, conversations):
    kept = IncrementalStates()
    rule_only = _rule_only_data(domain)
    compared = 0
    for number, events in enumerate(conversations):
        sender = f"conversation-{number % 7}"  # conversations share senders: a kept replay must not leak
        for end in range(1, len(events) + 1):
            tracker = DialogueStateTracker.from_events(sender, events[:end], domain.slots)
            for omit, ignore, rule_only_name in ARGUMENTS:
                data = dict(rule_only) if rule_only_name else None  # a new dict each time, as the RulePolicy
                expected = _RASA(domain, tracker, omit, ignore, data)
                assert kept.states(domain, tracker, omit, ignore, data) == expected, (number, end)
                compared += 1
    # it did extend, mostly (a form's next step and a new conversation replay: ~1 call in 7)
    assert compared > 1000 and kept.extended > 4 * kept.replayed_whole


def test_events_read_back_as_new_objects_a_revert_and_changed_states(domain, conversations):
    kept = IncrementalStates()
    # no form in it: a form's next step takes the previous one out of the applied events,
    # which is not an extension (the first test covers those)
    events = max((c for c in conversations if not any(isinstance(e, ActiveLoop) for e in c)), key=len)
    assert len(events) >= 8
    half = len(events) // 2
    tracker = DialogueStateTracker.from_events("c", events[:half], domain.slots)
    first = kept.states(domain, tracker)
    first[-1].clear()  # a caller changing what it got must not change what is kept
    # the tracker store reads the previous turn back: equal events, new objects
    read_back = deserialise_events([json.loads(json.dumps(e.as_dict())) for e in events[:half]])
    tracker = DialogueStateTracker.from_events("c", read_back + events[half:], domain.slots)
    assert kept.states(domain, tracker) == _RASA(domain, tracker, False, False, None)
    assert kept.extended == 1
    reverted = DialogueStateTracker.from_events(
        "c", read_back + events[half:] + [UserUttered("x", {"name": "greet"}), ActionExecuted("utter_greet"),
                                          UserUtteranceReverted()], domain.slots)
    assert kept.states(domain, reverted) == _RASA(domain, reverted, False, False, None)
    # as long and longer, but with what the customer said changed: not an extension
    changed = [UserUttered("不对", {"name": "deny"}) if isinstance(e, UserUttered) else e
               for e in read_back + events[half:]] + [ActionExecuted("action_listen")]
    tracker = DialogueStateTracker.from_events("c", changed, domain.slots)
    assert kept.states(domain, tracker) == _RASA(domain, tracker, False, False, None)
    other = DialogueStateTracker.from_events("c", events[:3], domain.slots)  # not an extension
    before = kept.replayed_whole
    assert kept.states(domain, other) == _RASA(domain, other, False, False, None)
    assert kept.replayed_whole == before + 1


def test_installed_for_conversations_only(domain):
    incremental_states.install()
    incremental_states.install()
    events = [ActionExecuted("action_listen"), UserUttered("hi", {"name": "greet"})]
    tracker = DialogueStateTracker.from_events("c", events, domain.slots)
    before = incremental_states.KEPT.extended + incremental_states.KEPT.replayed_whole
    assert tracker.past_states(domain) == _RASA(domain, tracker, False, False, None)
    assert incremental_states.KEPT.extended + incremental_states.KEPT.replayed_whole == before + 1


def test_a_turn_read_back_from_the_store_extends_what_is_kept(domain):
    """The NLU gives token spans as tuples; the store gives them back as lists: still the same turn."""
    from rasa.shared.core.events import BotUttered

    kept = IncrementalStates()
    parse = {"text": "你好", "intent": {"name": "greet", "confidence": 0.9123456789012346}, "entities": [],
             "text_tokens": [(0, 2)]}
    first = [ActionExecuted("action_listen"), UserUttered("你好", parse["intent"], [], parse),
             ActionExecuted("utter_greet"), BotUttered("您好"), ActionExecuted("action_listen")]
    kept.states(domain, DialogueStateTracker.from_events("c", first, domain.slots))
    read_back = deserialise_events([json.loads(json.dumps(e.as_dict())) for e in first])
    tracker = DialogueStateTracker.from_events(
        "c", read_back + [UserUttered("查余额", {"name": "check_balance"})], domain.slots)
    assert kept.states(domain, tracker) == _RASA(domain, tracker, False, False, None)
    assert (kept.extended, kept.replayed_whole) == (1, 1)


def test_what_the_featurizers_make_of_them_is_rasa_s(domain, conversations, monkeypatch):
    """The policies' own featurizers (all history, as the RulePolicy's; five states, as TED's
    and the Memoization's; text or intent for the last input) on shared kept states, call after
    call, give what they give on Rasa's states."""
    from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer

    kept = IncrementalStates()
    rule_only = _rule_only_data(domain)

    def featurized(states_for_history, tracker, featurizer, use_text, ignore):
        """With ``states_for_history`` in Rasa's place, or Rasa's own (None)."""
        def call():
            return featurizer.prediction_states([tracker], domain, use_text_for_last_user_input=use_text,
                                                ignore_rule_only_turns=ignore,
                                                rule_only_data=dict(rule_only) if ignore else None)
        if states_for_history is None:
            with rasa_s_own():
                return call()
        monkeypatch.setattr(Domain, "states_for_tracker_history", states_for_history)
        return call()

    def incremental(self, tracker, omit_unset_slots=False, ignore_rule_only_turns=False, rule_only_data=None):
        return kept.states(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)

    compared = 0
    for number, events in enumerate(conversations[::3]):
        for end in range(1, len(events) + 1):
            tracker = DialogueStateTracker.from_events(f"c{number}", events[:end], domain.slots)
            for featurizer in (MaxHistoryTrackerFeaturizer(None, max_history=None),
                               MaxHistoryTrackerFeaturizer(None, max_history=5)):
                for use_text in (False, True):
                    for ignore in (False, True):
                        assert (featurized(incremental, tracker, featurizer, use_text, ignore)
                                == featurized(None, tracker, featurizer, use_text, ignore)), (number, end)
                        compared += 1
    assert compared > 1000 and kept.extended > kept.replayed_whole


def test_a_kept_state_ending_the_list_is_a_copy_the_featurizers_may_change(domain, monkeypatch):
    """After a hidden rule turn that a form continues, the final state is not made: the last
    kept state ends the list — here the customer's message before the bot's first answer — and
    the featurizers change the last state (with text for the last input they drop its intent).
    The next call, and Rasa, must not see that change."""
    from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer

    form = domain.form_names[0]
    answer = next(name for name in domain.action_names_or_texts if name.startswith("utter_"))
    events = [ActionExecuted("action_listen"), UserUttered("帮我做个评估", {"name": domain.intents[0]}),
              ActionExecuted(answer), ActionExecuted(form, hide_rule_turn=True), ActiveLoop(form)]
    tracker = DialogueStateTracker.from_events("c-hidden", events, domain.slots)
    kept = IncrementalStates()

    def incremental(self, tracker, omit_unset_slots=False, ignore_rule_only_turns=False, rule_only_data=None):
        return kept.states(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)

    def featurized(use_text):
        return MaxHistoryTrackerFeaturizer(None, max_history=None).prediction_states(
            [tracker], domain, use_text_for_last_user_input=use_text, ignore_rule_only_turns=True, rule_only_data={})

    for use_text in (True, False, True):
        with rasa_s_own():
            rasa_s = featurized(use_text)
        monkeypatch.setattr(Domain, "states_for_tracker_history", incremental)
        assert featurized(use_text) == rasa_s, use_text
    assert kept.extended >= 2


def test_no_policy_predicts_action_unlikely_intent():
    """The states shared between calls rely on it (bot/rasa_ext/incremental_states.py): with
    UnexpecTEDIntentPolicy the featurizers drop states, so a kept one could end the list."""
    from rasa.shared.utils.io import read_config_file

    from tests.rasa_server.conftest import ROOT

    names = [policy.get("name") for policy in read_config_file(str(ROOT / "config.yml")).get("policies") or []]
    assert names and "UnexpecTEDIntentPolicy" not in names


def test_the_oracle_is_rasa_s_own_code(domain, conversations):
    """rasa_s_own (conftest) puts Rasa's functions back, even after the patches are installed."""
    from rasa.core.policies.rule_policy import RulePolicy

    from bot.rasa_ext import applied_events, rule_window
    from tests.rasa_server.conftest import RASA_OWN

    applied_events.install()
    incremental_states.install()
    rule_window.install()
    with rasa_s_own():
        for owner, name, _ in RASA_OWN:
            assert getattr(owner, name).__module__.startswith("rasa."), (owner, name)
    for owner, name in ((DialogueStateTracker, "applied_events"), (Domain, "states_for_tracker_history"),
                        (RulePolicy, "_prediction_states")):
        assert getattr(owner, name).__module__.startswith("bot.rasa_ext."), (owner, name)  # back after
