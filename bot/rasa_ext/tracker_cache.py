"""The events of recent conversations kept in memory, so a turn reads only what is new.

Rasa's SQL tracker store reads and deserialises every event of the conversation on every turn
(json + ``Event.from_parameters``): at turn 300 that is ~2,000 events and tens of ms of one core,
the part of a turn that grows with the conversation (bench/load_profile.py). Here each Rasa
process keeps the deserialised events of the conversations it served lately, and on the next
turn asks the database only for rows after the last one it has, plus a count of the rows up to
it. The database stays the only truth:

- rows another replica wrote since (a turn served elsewhere) are read, as they are new rows;
- rows deleted (a customer's data erased, bot/privacy.py) change the count: read everything again;
- a new conversation session (a ``session_started`` row) makes Rasa's own query decide again;
- a process restart starts empty.

One conversation's turns are serialised by the lock store (in-memory or Redis), so rows of one
conversation are appended by one writer at a time, in id order. Events are read back from the
rows (masked as stored), exactly as Rasa's own ``retrieve`` would give them; the event objects
are shared between turns, which Rasa does not change once they are in a tracker.
"""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rasa.shared.core.events import Event, SessionStarted, deserialise_events


@dataclass
class _Entry:
    events: list[Event]  # the latest session's events, in row order
    last_id: int  # id of the newest row read
    rows_up_to_last: int  # rows of this conversation (all sessions) with id <= last_id


Row = tuple[int, str, str]  # (id, type_name, data)


class TrackerEventCache:
    """At most ``capacity`` conversations, least recently used dropped first (0: keep none)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: collections.OrderedDict[str, _Entry] = collections.OrderedDict()
        self._lock = threading.Lock()  # retrieve may run in executor threads
        self.full_reads = 0
        self.incremental_reads = 0

    def events(self, sender_id: str, *, rows_after: Callable[[int], Sequence[Row]],
               count_up_to: Callable[[int], int], read_session: Callable[[], Sequence[Row]]) -> list[Event]:
        """The events of ``sender_id``'s latest session (a new list each call).

        ``rows_after(id)``: rows of the conversation with a greater id, in id order;
        ``count_up_to(id)``: how many rows of the conversation have an id up to ``id``;
        ``read_session()``: Rasa's own query, rows of the latest session in id order."""
        if self.capacity <= 0:
            self.full_reads += 1
            return self._deserialise(read_session())
        with self._lock:
            entry = self._entries.get(sender_id)
        if entry is not None:
            newer = list(rows_after(entry.last_id))
            still_whole = count_up_to(entry.last_id) == entry.rows_up_to_last
            if still_whole and not any(type_name == SessionStarted.type_name for _, type_name, _ in newer):
                events = entry.events + self._deserialise(newer)
                if newer:
                    entry = _Entry(events, newer[-1][0], entry.rows_up_to_last + len(newer))
                self._keep(sender_id, entry)
                self.incremental_reads += 1
                return list(events)
        rows = list(read_session())
        events = self._deserialise(rows)
        if rows:
            last_id = rows[-1][0]
            self._keep(sender_id, _Entry(events, last_id, count_up_to(last_id)))
        else:
            self.forget(sender_id)
        self.full_reads += 1
        return list(events)

    def forget(self, sender_id: str) -> None:
        with self._lock:
            self._entries.pop(sender_id, None)

    def __len__(self) -> int:
        return len(self._entries)

    def _keep(self, sender_id: str, entry: _Entry) -> None:
        with self._lock:
            self._entries[sender_id] = entry
            self._entries.move_to_end(sender_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    @staticmethod
    def _deserialise(rows: Sequence[Row]) -> list[Event]:
        return deserialise_events([json.loads(data) for _, _, data in rows])


def row(sql_event: Any) -> Row:
    return sql_event.id, sql_event.type_name, sql_event.data
