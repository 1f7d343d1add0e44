"""A tracker's applied events extended as events are appended, not recomputed from the start.

``DialogueStateTracker.applied_events()`` walks the whole conversation (undoing reverted turns
and repeated form executions) and Rasa asks for it many times per turn: the session-expiry
check, the dialogue states, the rule policy, every ``get_last_event_for``. At turn 300 those
walks were an eighth of a late turn's work (bench/load_profile.py). Rasa's loop is a left fold
over the events, except for one input taken from all of them, the names of the loops
(forms) ever activated; so the walk is kept and continued over new events only. It is kept per
conversation, not per tracker: each turn's tracker is a new object (read from the store, the
action's temporary copy), made of the same event objects (bot/rasa_ext/tracker_cache.py).

Exactly Rasa's result or Rasa's own computation:
- continued only when the tracker's events begin with the very events walked — the same
  objects, one by one (a C loop of identity checks: ~0.1 ms at 3,000 events; the walk holds
  the objects, so their identities cannot be reused) — and the new events activate no loop
  name not seen before (a new name could change how earlier events fold); else Rasa's own walk;
- the loop body is Rasa 3.6's, step for step, calling the tracker's own helpers;
- every call returns a new list, as Rasa's does (callers may change it).
"""

from __future__ import annotations

import collections
import itertools
import operator
import threading
from typing import Any

from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)

COUNTS = {"continued": 0, "walked_whole": 0}  # what the calls did (tests, benchmarks)
CONVERSATIONS_KEPT = 2000
WALKS_PER_CONVERSATION = 4  # a turn's tracker and its temporary copies grow apart


class _Walk:
    __slots__ = ("walked", "events", "loop_names", "applied")

    def __init__(self, events: Any, loop_names: frozenset[str], applied: list[Event]) -> None:
        self.events = tuple(events)  # kept alive here, so their ids are their own
        self.walked = len(self.events)
        self.loop_names = loop_names
        self.applied = applied  # never changed in place: a copy is extended

    def begins(self, events: Any) -> bool:
        if self.walked > len(events):
            return False
        if self.walked and (events[0] is not self.events[0] or events[self.walked - 1] is not self.events[-1]):
            return False  # the usual miss, found without the walk along
        return all(map(operator.is_, itertools.islice(events, self.walked), self.events))


_walks: collections.OrderedDict[str, list[_Walk]] = collections.OrderedDict()
_lock = threading.Lock()


def forget_all() -> None:
    with _lock:
        _walks.clear()


def _keep(sender_id: str, walk: _Walk) -> None:
    with _lock:
        kept = [w for w in _walks.pop(sender_id, []) if not (w.walked == walk.walked and walk.begins(w.events))]
        _walks[sender_id] = ([walk] + kept)[:WALKS_PER_CONVERSATION]
        while len(_walks) > CONVERSATIONS_KEPT:
            _walks.popitem(last=False)


def _loop_names(events: Any) -> frozenset[str]:
    return frozenset(event.name for event in events if isinstance(event, ActiveLoop) and event.name)


def _fold(tracker: Any, applied: list[Event], events: Any, loop_names: frozenset[str]) -> list[Event]:
    """Rasa 3.6's ``applied_events`` loop body, continued from ``applied``."""
    for event in events:
        if isinstance(event, (Restarted, SessionStarted)):
            applied = []
        elif isinstance(event, ActionReverted):
            tracker._undo_till_previous(ActionExecuted, applied)
        elif isinstance(event, UserUtteranceReverted):
            tracker._undo_till_previous(UserUttered, applied)
            tracker._undo_till_previous(ActionExecuted, applied)
        elif (
            isinstance(event, ActionExecuted)
            and event.action_name in loop_names
            and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
        ):
            tracker._undo_till_previous_loop_execution(event.action_name, applied)
        else:
            applied.append(event)
    return applied


def applied_events(tracker: Any) -> list[Event]:
    events = tracker.events
    count = len(events)
    with _lock:
        walks = list(_walks.get(tracker.sender_id, ()))
    walk = next((w for w in sorted(walks, key=lambda w: w.walked, reverse=True) if w.begins(events)), None)
    if walk is not None:
        if walk.walked == count:
            return list(walk.applied)
        new = [events[i] for i in range(walk.walked, count)]
        if _loop_names(new) <= walk.loop_names:
            applied = _fold(tracker, list(walk.applied), new, walk.loop_names)
            _keep(tracker.sender_id, _Walk(events, walk.loop_names, applied))
            COUNTS["continued"] += 1
            return list(applied)
    loop_names = _loop_names(events)
    applied = _fold(tracker, [], events, loop_names)
    _keep(tracker.sender_id, _Walk(events, loop_names, applied))
    COUNTS["walked_whole"] += 1
    return list(applied)


def install() -> None:
    """Route ``DialogueStateTracker.applied_events`` of conversations through here; idempotent."""
    from rasa.shared.core.trackers import DialogueStateTracker

    if getattr(DialogueStateTracker.applied_events, "_anxin_incremental", False):
        return
    original = DialogueStateTracker.applied_events

    def applied(self: Any) -> list[Event]:
        if getattr(self, "is_rule_tracker", False) or type(self) is not DialogueStateTracker:
            return original(self)  # training's trackers: many per "sender", walked once
        return applied_events(self)

    applied._anxin_incremental = True  # type: ignore[attr-defined]
    applied.original = original  # type: ignore[attr-defined]
    DialogueStateTracker.applied_events = applied  # type: ignore[method-assign]
