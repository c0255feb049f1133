"""Money-moving requests run to their end even if their callers leave.

A caller can be cancelled mid-request: a WebSocket that closes cancels its operations.
A payment, cancellation or refund that has begun then still talks to the processor and
records what it said at once; a retry with the same idempotency key finds the result.
The app's shutdown waits a while for such requests (`finish_in_flight`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from resolvers.errors import DomainError, Forbidden, InvalidInput, NotFound

log = logging.getLogger(__name__)
T = TypeVar("T")

# Answers a caller is meant to hear; anything else is a fault worth a log line.
_ANSWERS = (DomainError, Forbidden, InvalidInput, NotFound)

# Requests running to their end, whether or not their callers still wait.
_IN_FLIGHT: set[asyncio.Task[Any]] = set()


async def to_the_end(work: Coroutine[Any, Any, T]) -> T:
    """`await work`, in a task of its own that a caller who leaves does not cancel."""
    task = asyncio.ensure_future(work)
    _IN_FLIGHT.add(task)
    task.add_done_callback(_finished)
    return await asyncio.shield(task)


def _finished(task: asyncio.Task[Any]) -> None:
    _IN_FLIGHT.discard(task)
    if task.cancelled():
        return
    error = task.exception()  # retrieved, so a caller who left leaves no asyncio warning
    if error is not None and not isinstance(error, _ANSWERS):
        # The caller, if still there, hears of it too; one who left would not, so log it.
        log.error("a money-moving request failed", exc_info=error)


def in_flight() -> int:
    """How many of this event loop's requests are still running."""
    return len(_mine())


async def finish_in_flight(grace: float) -> int:
    """At shutdown: wait up to `grace` seconds for this event loop's requests still
    running (those begun meanwhile too), then cut off the rest: cancel them and wait up
    to `grace` again for them to unwind. Returns how many were cut off.

    A payment cut off that way is finished by the reconciler and a refund re-sent by
    it; a ledger batch it was part of runs on in the group commit's own task, and a
    batch the closing database interrupts rolls back whole. A cancellation cut off
    before it was recorded releases its key, so that a retry with it asks the processor
    again (if the release too is cut off, the retry takes the claim over once it is
    abandoned, idempotency.ABANDONED_AFTER)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while (running := _mine()) and (left := deadline - loop.time()) > 0:
        await asyncio.wait(running, timeout=left)
    unfinished = _mine()
    if unfinished:
        log.warning("cutting off %d money-moving requests at shutdown", len(unfinished))
        for task in unfinished:
            task.cancel()
        _, stuck = await asyncio.wait(unfinished, timeout=grace)
        if stuck:
            log.error("%d money-moving requests did not unwind when cut off", len(stuck))
    return len(unfinished)


def _mine() -> set[asyncio.Task[Any]]:
    loop = asyncio.get_running_loop()
    return {task for task in _IN_FLIGHT if task.get_loop() is loop}
