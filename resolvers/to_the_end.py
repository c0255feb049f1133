"""Money-moving requests run to their end even if their callers leave.

A caller can be cancelled mid-request: a WebSocket that closes cancels its operations.
A payment, cancellation or refund that has begun then still talks to the processor and
records what it said at once, rather than leaving the reconciler or the settlement job
to finish it later; a retry with the same idempotency key finds the result. The app's
shutdown waits a while for such requests (`finish_in_flight`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

# Requests running to their end, whether or not their callers still wait (per process).
_IN_FLIGHT: set[asyncio.Task[Any]] = set()


async def to_the_end(work: Coroutine[Any, Any, T]) -> T:
    """`await work`, in a task of its own that a caller who leaves does not cancel."""
    task = asyncio.ensure_future(work)
    _IN_FLIGHT.add(task)
    task.add_done_callback(_finished)
    return await asyncio.shield(task)


def _finished(task: asyncio.Task[Any]) -> None:
    _IN_FLIGHT.discard(task)
    if not task.cancelled():
        task.exception()  # its caller, if still there, hears of it; nobody else needs to


async def finish_in_flight(grace: float) -> int:
    """Wait up to `grace` seconds for the requests still running (at shutdown); the
    number unfinished after it, which the reconciler and the settlement job finish."""
    if not _IN_FLIGHT:
        return 0
    _, unfinished = await asyncio.wait(set(_IN_FLIGHT), timeout=grace)
    if unfinished:
        log.warning("%d money-moving requests unfinished at shutdown", len(unfinished))
    return len(unfinished)
