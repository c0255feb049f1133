"""start_eagerly: a coroutine's first step runs at once; only one that waits gets a task."""

from __future__ import annotations

import asyncio

import pytest

from graph.eager import eager_future, start_eagerly


async def test_a_coroutine_that_never_waits_finishes_on_the_spot_without_a_task() -> None:
    steps: list[str] = []

    async def work() -> None:
        steps.append("done")

    tasks_before = asyncio.all_tasks()
    assert start_eagerly(work()) is None
    assert steps == ["done"]
    assert asyncio.all_tasks() == tasks_before


async def test_a_coroutine_that_waits_goes_on_in_a_task_from_where_it_stopped() -> None:
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    steps: list[object] = []

    async def work() -> None:
        steps.append("started")
        steps.append(await first)
        await asyncio.sleep(0)  # a bare yield to the loop, as asyncio itself does
        steps.append(await second)

    task = start_eagerly(work())
    assert steps == ["started"]
    assert task is not None and not task.done()

    first.set_result("first")
    second.set_result("second")
    await task
    assert steps == ["started", "first", "second"]


async def test_cancelling_the_task_cancels_the_coroutine_where_it_waits() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    steps: list[str] = []

    async def work() -> None:
        try:
            await gate
        except asyncio.CancelledError:
            steps.append("cancelled while waiting")
            raise

    task = start_eagerly(work())
    assert task is not None
    await asyncio.sleep(0)  # the task now waits on the gate
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert steps == ["cancelled while waiting"]
    assert gate.cancelled()


async def test_an_error_before_the_first_wait_is_raised_at_once() -> None:
    async def fails_at_once() -> None:
        raise RuntimeError("socket closed")

    with pytest.raises(RuntimeError, match="socket closed"):
        start_eagerly(fails_at_once())


async def test_an_error_after_a_wait_ends_the_task() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def fails_later() -> None:
        await gate
        raise RuntimeError("socket closed later")

    task = start_eagerly(fails_later())
    assert task is not None
    gate.set_result(None)
    with pytest.raises(RuntimeError, match="socket closed later"):
        await task


async def test_eager_future_is_finished_at_once_for_a_coroutine_that_never_waits() -> None:
    async def answer() -> int:
        return 42

    async def fails() -> int:
        raise ValueError("bad event")

    done = eager_future(answer())
    failed = eager_future(fails())

    assert done.done() and done.result() == 42
    assert failed.done() and isinstance(failed.exception(), ValueError)


async def test_eager_future_of_a_coroutine_that_waits_is_a_task_with_its_result() -> None:
    gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def answer() -> int:
        return await gate + 1

    future = eager_future(answer())
    assert not future.done()
    gate.set_result(41)
    assert await future == 42
