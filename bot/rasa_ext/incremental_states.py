"""A conversation's dialogue states computed once, then extended turn by turn.

Before every prediction Rasa's policies turn the whole conversation into a list of states
(``Domain.states_for_tracker_history``: replay every event, one state per action): four times
per prediction here (Memoization, TED, and the RulePolicy twice), two or three predictions per
turn. At turn 300 that was a third of the Rasa server's work and what made late turns slow
(bench/load_profile.py --long-turns 300). A state depends only on the events before it, so once
computed it never changes while events are only appended: here the replay is kept per
conversation and argument set, and a later call replays only the events it has not seen.

Exactly Rasa's result, as its featurizers use it, or Rasa's own computation:
- the kept replay is used only when the tracker's applied events begin with the very events it
  replayed (the same objects, or events equal in every serialised field — the tracker store
  reads the previous turn's events back as new objects); anything else (a revert, a restart, a
  different tracker such as a policy's what-if copy) is computed by Rasa and replaces the kept one;
- the loop body is Rasa 3.6's, step for step (``_Replay.visit``);
- the states before the last are shared between calls, not copied for each (copying them all
  was a quarter of what a late turn still spent here). They are kept as Rasa's featurizers
  leave every state but the last (``_remove_user_text_if_intent``: a user sub-state with an
  intent loses its text) — the only change a caller makes to them — so a caller's change is
  already made and changes nothing. The last state is new for every call, also when it is a
  kept one (a hidden turn): the featurizers change it (``_choose_last_user_input``). Serving's
  only callers are the featurizers (``prediction_states``); training's trackers are rule and
  augmented trackers, computed by Rasa. (A policy predicting ``action_unlikely_intent``, i.e.
  UnexpecTEDIntentPolicy, would let the featurizers drop states and change a kept one as the
  last: config.yml has none, and tests/rasa_server/test_incremental_states.py fails if one is
  added.)
"""

from __future__ import annotations

import collections
import json
import operator
import threading
from typing import Any

from rasa.shared.core import constants as core_constants
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.nlu.constants import INTENT, TEXT

CONVERSATIONS_KEPT = 2000  # x argument sets; least recently used dropped


def _same(kept: Event, new: Event) -> bool:
    """The same object, or equal as stored: the previous turn's events come back from the
    database as JSON made them (tuples as lists), so both are compared in that form."""
    if kept is new:
        return True
    return type(kept) is type(new) and json.loads(json.dumps(kept.as_dict())) == json.loads(json.dumps(new.as_dict()))


def _begins(applied: list[Event], replayed: list[Event]) -> bool:
    """The applied events begin with the replayed ones: the same objects (a C loop of identity
    checks), else event by event, as stored, where they are not."""
    n = len(replayed)
    if n > len(applied):
        return False
    prefix = applied[:n]
    if all(map(operator.is_, prefix, replayed)):
        return True
    return all(kept is new or _same(kept, new)
               for kept, new in zip(reversed(replayed), reversed(prefix), strict=True))


def _copy_state(state: dict) -> dict:
    """Two levels: a state's sub-states are dicts of strings, numbers and tuples."""
    return {key: dict(sub) if isinstance(sub, dict) else sub for key, sub in state.items()}


def _as_featurized(state: dict) -> dict:
    """What Rasa's featurizers make of a state that is not the last (their
    ``_remove_user_text_if_intent``, which changes the state in place), as a new state when it
    differs: the state as made is kept too, for when it ends the list."""
    user = state.get(core_constants.USER)
    if user and user.get(INTENT) and user.get(TEXT):
        return {**state, core_constants.USER: {key: value for key, value in user.items() if key != TEXT}}
    return state


class _Replay:
    """Rasa's ``states_for_tracker_history`` loop, paused after the events fed so far."""

    def __init__(self, domain: Any, tracker: Any, omit_unset_slots: bool, ignore_rule_only_turns: bool,
                 rule_only_data: Any) -> None:
        self.domain = domain
        self.omit_unset_slots = omit_unset_slots
        self.ignore_rule_only_turns = ignore_rule_only_turns
        self.rule_only_data = rule_only_data
        self.replayed = tracker.init_copy()  # as generate_all_prior_trackers
        self.events: list[Event] = []
        self.states: list[dict] = []
        self.last_made: dict = {}  # the last of ``states`` as Rasa's loop made it
        self.last_ml_action_sub_state: Any = None
        self.turn_was_hidden = False

    def feed(self, event: Event) -> None:
        if isinstance(event, ActionExecuted):
            self.feed_action(event.hide_rule_turn)
        self.replayed.update(event)
        self.events.append(event)

    def feed_action(self, hide_rule_turn: bool) -> None:
        state = self.visit(self.replayed, hide_rule_turn)
        if state is not None:
            self.last_made = state
            self.states.append(_as_featurized(state))

    def visit(self, tr: Any, hide_rule_turn: bool) -> dict | None:
        """The state before the next action (None: a hidden rule turn), as Rasa's loop makes it;
        also the loop's bookkeeping of hidden turns."""
        domain = self.domain
        if self.ignore_rule_only_turns:
            if not self.turn_was_hidden:
                self.last_ml_action_sub_state = domain._get_prev_action_sub_state(tr)
            if not tr.followup_action and not tr.latest_action_name == tr.active_loop_name:
                self.turn_was_hidden = hide_rule_turn
            if self.turn_was_hidden:
                return None
        state = domain.get_active_state(tr, omit_unset_slots=self.omit_unset_slots)
        if self.ignore_rule_only_turns:
            domain._remove_rule_only_features(state, self.rule_only_data)
            if self.states:
                domain._substitute_rule_only_user_input(state, self.states[-1])
            if self.last_ml_action_sub_state:
                state[core_constants.PREVIOUS_ACTION] = self.last_ml_action_sub_state
        return domain._clean_state(state)

    def states_now(self) -> list[dict]:
        """The states with the final one (the tracker after all its events), leaving the replay
        where it was: the final state is not kept, as later events may come before the next action."""
        kept = (self.last_ml_action_sub_state, self.turn_was_hidden)
        final = self.visit(self.replayed, False)
        self.last_ml_action_sub_state, self.turn_was_hidden = kept
        if final is not None:
            return self.states + [_copy_state(final)]
        # a hidden turn: the last kept state ends the list, as made (the featurizers treat the
        # last state apart) and copied (they change it)
        return self.states[:-1] + [_copy_state(self.last_made)] if self.states else []


class IncrementalStates:
    """Kept replays by (conversation, domain, arguments)."""

    def __init__(self, capacity: int = CONVERSATIONS_KEPT) -> None:
        self.capacity = capacity
        self._replays: collections.OrderedDict[tuple, _Replay] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.extended = 0
        self.replayed_whole = 0

    def states(self, domain: Any, tracker: Any, omit_unset_slots: bool = False,
               ignore_rule_only_turns: bool = False, rule_only_data: Any = None) -> list[dict]:
        # by content: the RulePolicy makes a new rule_only_data dict for every call
        rule_only = json.dumps(rule_only_data, sort_keys=True, default=str)
        key = (tracker.sender_id, id(domain), omit_unset_slots, ignore_rule_only_turns, rule_only)
        applied = tracker.applied_events()
        with self._lock:
            replay = self._replays.pop(key, None)
        if replay is None or replay.domain is not domain or not _begins(applied, replay.events):
            replay = _Replay(domain, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
            self.replayed_whole += 1
        else:
            replay.events = applied[:len(replay.events)]  # the tracker's objects: next time, identity suffices
            self.extended += 1
        for event in applied[len(replay.events):]:
            replay.feed(event)
        result = replay.states_now()
        with self._lock:
            self._replays[key] = replay
            while len(self._replays) > self.capacity:
                self._replays.popitem(last=False)
        return result


KEPT = IncrementalStates()


def install() -> None:
    """Route ``Domain.states_for_tracker_history`` through ``KEPT`` for conversations (not for
    the rule trackers of training); idempotent."""
    from rasa.shared.core.domain import Domain

    if getattr(Domain.states_for_tracker_history, "_anxin_incremental", False):
        return
    original = Domain.states_for_tracker_history

    def states_for_tracker_history(self: Any, tracker: Any, omit_unset_slots: bool = False,
                                   ignore_rule_only_turns: bool = False, rule_only_data: Any = None) -> list:
        if getattr(tracker, "is_rule_tracker", False) or type(tracker).__name__ != "DialogueStateTracker":
            return original(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        return KEPT.states(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)

    states_for_tracker_history._anxin_incremental = True  # type: ignore[attr-defined]
    states_for_tracker_history.original = original  # type: ignore[attr-defined]
    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]
