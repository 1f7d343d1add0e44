"""At most a few turns worked on at once in a Rasa process; the others wait at the door, in order.

A turn is several slices of one core's work with waits between them (the action server, the
database). Sanic starts every request at once, so under load each slice of a turn queues behind
a slice of every other turn in the process: a turn's time grows with how many slices it has
(a product suggestion: the sensing call, the suggestion call, the audit) rather than with its
work, and the slowest turns are the ones customers see in the p95. Admitting a few turns and
letting the rest wait in arrival order keeps the core busy (a turn waiting for the action server
leaves it to another admitted turn) and lets an admitted turn finish in about its own time.
Health, metrics and the other endpoints do not pass the gate. The server puts it inside the
conversation's lock (around ``MessageProcessor.handle_message``): a turn waiting for an earlier
turn of its own conversation holds no place, so one customer's burst cannot fill the gate.

``ANXIN_TURNS_AT_ONCE`` (bot/settings.py) sets the number; 0 admits every turn at once (Sanic's
and Rasa's own behaviour). What it does to throughput and p95 is measured by bench/load.py.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

_gates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop -> its semaphore


@asynccontextmanager
async def admitted(at_once: int) -> AsyncIterator[None]:
    """Wait for a place among ``at_once`` turns of this event loop (no wait when ``at_once`` < 1).
    One number per process: the loop's gate is made with the first call's."""
    if at_once < 1:
        yield
        return
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(at_once)
    async with gate:
        yield
