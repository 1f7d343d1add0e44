"""A tracker's applied events continued over new events (bot/rasa_ext/applied_events.py) are
exactly Rasa's, event by event, on the project's own stories and rules (forms, whose repeated
steps Rasa folds away, included) and on reverts, restarts and new sessions."""

from __future__ import annotations

from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext import applied_events


def _rasa(tracker) -> list:
    method = DialogueStateTracker.applied_events
    return getattr(method, "original", method)(tracker)


def _grown(tracker, events) -> None:
    """Feed ``events`` one at a time, comparing after each."""
    for event in events:
        tracker.update(event)
        assert applied_events.applied_events(tracker) == _rasa(tracker)


def test_event_by_event_equal_to_rasa_s_on_every_story_and_rule(domain, conversations):
    with_forms = sum(any(isinstance(e, ActiveLoop) and e.name for e in c) for c in conversations)
    assert with_forms > 10  # the forms' folding is exercised
    before = dict(applied_events.COUNTS)
    for events in conversations:
        _grown(DialogueStateTracker("c", domain.slots), events)
    continued = applied_events.COUNTS["continued"] - before["continued"]
    whole = applied_events.COUNTS["walked_whole"] - before["walked_whole"]
    # walked whole: each conversation's first event and each form's activation
    assert whole <= len(conversations) + with_forms and continued > 3 * whole


def test_reverts_restarts_sessions_and_a_form_named_late(domain, conversations):
    base = max(conversations, key=len)
    form = domain.form_names[0]
    tail = [UserUttered("x", {"name": "greet"}), ActionExecuted("utter_greet"), UserUtteranceReverted(),
            ActionExecuted("action_listen"), UserUttered("y", {"name": "deny"}), ActionExecuted("utter_greet"),
            ActionReverted(), SlotSet("language", "en"), ActionExecuted(form), ActiveLoop(form),
            ActionExecuted(form), ActionExecuted(form), ActiveLoop(None), Restarted(),
            ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
            UserUttered("z", {"name": "greet"})]
    _grown(DialogueStateTracker("c", domain.slots), base + tail)


def test_each_call_a_new_list_and_other_stretches_walked_again(domain, conversations):
    events = max(conversations, key=len)
    tracker = DialogueStateTracker.from_events("c-list", events, domain.slots)
    first = applied_events.applied_events(tracker)
    first.clear()  # a caller changing its list changes nothing kept
    assert applied_events.applied_events(tracker) == _rasa(tracker) != []
    # the same conversation's events from another start, or with another event where the walk
    # ended: not a continuation
    later = DialogueStateTracker.from_events("c-list", events[1:], domain.slots)
    before = applied_events.COUNTS["walked_whole"]
    assert applied_events.applied_events(later) == _rasa(later)
    changed = DialogueStateTracker.from_events(
        "c-list", events[:-1] + [UserUttered("x", {"name": "greet"})] + events[-1:], domain.slots)
    assert applied_events.applied_events(changed) == _rasa(changed)
    assert applied_events.COUNTS["walked_whole"] == before + 2
    # the same first and last objects, a customer's message between them changed: not a
    # continuation either (every object of the walked stretch is checked, not its two ends)
    tracker = DialogueStateTracker.from_events("c-list", events, domain.slots)
    assert applied_events.applied_events(tracker) == _rasa(tracker)
    swapped = [UserUttered("不对", {"name": "deny"}) if isinstance(e, UserUttered) else e for e in events]
    assert swapped[0] is events[0] and swapped[-1] is events[-1] and swapped != events
    tracker = DialogueStateTracker.from_events("c-list", swapped + [ActionExecuted("action_listen")], domain.slots)
    assert applied_events.applied_events(tracker) == _rasa(tracker)


def test_each_turn_s_new_tracker_and_its_copies_continue_the_conversation_s_walk(domain, conversations):
    """As in serving: a turn's tracker is new (from the store, made of the same event objects),
    the action runs on a copy that grows apart from it."""
    applied_events.install()
    applied_events.install()
    events = max(conversations, key=len)
    half = len(events) // 2
    first_turn = DialogueStateTracker.from_events("c-turns", events[:half], domain.slots)
    assert first_turn.applied_events() == _rasa(first_turn)
    before = dict(applied_events.COUNTS)
    next_turn = DialogueStateTracker.from_events("c-turns", events, domain.slots)
    assert next_turn.applied_events() == _rasa(next_turn)
    temporary = next_turn.copy()
    temporary.update(UserUttered("hi", {"name": "greet"}))
    assert temporary.applied_events() == _rasa(temporary)
    next_turn.update(SlotSet("language", "en"))
    assert next_turn.applied_events() == _rasa(next_turn)
    assert applied_events.COUNTS["walked_whole"] == before["walked_whole"]
    assert applied_events.COUNTS["continued"] == before["continued"] + 3
