"""Run a coroutine's first step at once, and give it a task only if it has to wait.

A send on a WebSocket whose buffer has room never waits, so a thousand of them can go
out in one loop without a thousand task wake-ups; the one whose socket is full goes on
in a task of its own, and nobody waits for it. Likewise an execution whose data is
already loaded finishes on the spot. This is what asyncio's eager tasks do
(`asyncio.eager_task_factory`, Python 3.12), for a single coroutine and on Python 3.11.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _Rest(Generic[T]):
    """Awaiting it continues a coroutine that was started by hand and is waiting on `signal`."""

    __slots__ = ("_coro", "_signal")

    def __init__(self, coro: Coroutine[Any, Any, T], signal: Any) -> None:
        self._coro = coro
        self._signal = signal

    def __await__(self) -> Generator[Any, Any, T]:
        # What a task does with the coroutine itself: hand what it yields to the loop,
        # and pass back in what the loop sends or throws (a cancellation included).
        coro, signal = self._coro, self._signal
        while True:
            try:
                try:
                    sent = yield signal
                except GeneratorExit:
                    coro.close()
                    raise
                except BaseException as exc:
                    signal = coro.throw(exc)
                else:
                    signal = coro.send(sent)
            except StopIteration as stop:
                result: T = stop.value
                return result


async def _finish(coro: Coroutine[Any, Any, T], signal: Any) -> T:
    return await _Rest(coro, signal)


def start_eagerly(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run `coro` until it first waits: None if it finished, else the task that finishes it.

    An exception raised before the first wait is raised here; later ones end the task.
    """
    try:
        signal = coro.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_finish(coro, signal))


def eager_future(coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
    """`asyncio.ensure_future(coro)`, except that the first step runs now: a coroutine that
    never waits comes back as a finished future (with its result or its exception)."""
    try:
        signal = coro.send(None)
    except StopIteration as stop:
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        done.set_result(stop.value)
        return done
    except Exception as exc:
        failed: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        failed.set_exception(exc)
        return failed
    return asyncio.ensure_future(_finish(coro, signal))
