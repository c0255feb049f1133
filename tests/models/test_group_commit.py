"""Group commit: concurrent calls share batches, and each still gets its own outcome."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from models.group_commit import GroupCommit


class Recorder:
    """A batch function that records each batch, and can be told to fail."""

    def __init__(self, *, fail_with: int | None = None, delay: float = 0.01) -> None:
        self.batches: list[list[int]] = []
        self.fail_with = fail_with
        self.delay = delay

    async def __call__(self, items: Sequence[int]) -> list[int | Exception]:
        self.batches.append(list(items))
        await asyncio.sleep(self.delay)  # a transaction in flight, so that others queue
        if self.fail_with in items and len(items) > 1:
            raise RuntimeError("the whole batch failed")
        return [ValueError(f"odd {n}") if n % 2 else n * 10 for n in items]


async def test_a_lone_call_runs_at_once_in_a_batch_of_its_own() -> None:
    batch = Recorder()
    group = GroupCommit("test", batch)

    assert await group.submit(4) == 40
    assert batch.batches == [[4]]


async def test_calls_arriving_during_a_batch_share_the_next_one() -> None:
    batch = Recorder()
    group = GroupCommit("test", batch)

    first = asyncio.create_task(group.submit(0))
    await asyncio.sleep(0)  # the first batch is in flight
    rest = [asyncio.create_task(group.submit(n)) for n in range(2, 42, 2)]
    results = await asyncio.gather(first, *rest)

    assert results == [n * 10 for n in range(0, 42, 2)]
    assert batch.batches == [[0], list(range(2, 42, 2))]


async def test_each_caller_gets_its_own_exception() -> None:
    batch = Recorder()
    group = GroupCommit("test", batch)

    results = await asyncio.gather(*(group.submit(n) for n in range(6)), return_exceptions=True)

    assert [r if isinstance(r, int) else str(r) for r in results] == [
        0,
        "odd 1",
        20,
        "odd 3",
        40,
        "odd 5",
    ]


async def test_a_failed_batch_runs_each_item_alone() -> None:
    batch = Recorder(fail_with=4)
    group = GroupCommit("test", batch)

    first = asyncio.create_task(group.submit(0))
    await asyncio.sleep(0)
    results = await asyncio.gather(first, *(group.submit(n) for n in (2, 4, 6)))

    assert results == [0, 20, 40, 60]
    assert batch.batches == [[0], [2, 4, 6], [2], [4], [6]]


async def test_an_item_that_fails_alone_fails_only_its_caller() -> None:
    async def batch(items: Sequence[int]) -> list[int]:
        if 3 in items:
            raise RuntimeError("three is broken")
        return [n + 1 for n in items]

    group = GroupCommit("test", batch)
    results = await asyncio.gather(*(group.submit(n) for n in range(5)), return_exceptions=True)

    assert results[:3] == [1, 2, 3] and results[4] == 5
    assert isinstance(results[3], RuntimeError)


async def test_batches_are_capped() -> None:
    batch = Recorder()
    group = GroupCommit("test", batch, max_items=4)

    await asyncio.gather(*(group.submit(n) for n in range(0, 20, 2)))

    assert [len(b) for b in batch.batches] == [4, 4, 2]


async def test_a_caller_gone_before_its_batch_began_is_left_out() -> None:
    batch = Recorder()
    group = GroupCommit("test", batch)

    first = asyncio.create_task(group.submit(0))
    await asyncio.sleep(0)
    gone = asyncio.create_task(group.submit(2))
    stays = asyncio.create_task(group.submit(4))
    await asyncio.sleep(0)
    gone.cancel()

    assert await first == 0 and await stays == 40
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert batch.batches == [[0], [4]]


async def test_a_caller_gone_during_its_batch_leaves_the_others_their_results(
    caplog: pytest.LogCaptureFixture,
) -> None:
    batch = Recorder(delay=0.05)
    group = GroupCommit("test", batch)

    tasks = [asyncio.create_task(group.submit(n)) for n in (0, 2, 4)]
    await asyncio.sleep(0.01)  # the batch of all three is in flight
    tasks[1].cancel()

    with caplog.at_level(logging.WARNING):
        assert await tasks[0] == 0 and await tasks[2] == 40
    assert batch.batches == [[0, 2, 4]]
    assert "a caller left during its batch; its part stands" in caplog.text


async def test_a_batch_function_that_miscounts_fails_its_callers_and_not_the_next() -> None:
    calls = 0

    async def batch(items: Sequence[int]) -> list[int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return [] if calls == 1 else [n for n in items]

    group = GroupCommit("test", batch)
    first = asyncio.create_task(group.submit(1))
    await asyncio.sleep(0)
    second = asyncio.create_task(group.submit(2))

    with pytest.raises(RuntimeError, match="0 outcomes for 1"):
        await first
    assert await second == 2


async def test_a_batch_that_lost_a_race_runs_again_whole() -> None:
    tries: list[list[int]] = []

    async def batch(items: Sequence[int]) -> list[int]:
        tries.append(list(items))
        if len(tries) < 3:
            raise RuntimeError("deadlock detected")
        return [n * 2 for n in items]

    group = GroupCommit("test", batch, retry_if=lambda exc: "deadlock" in str(exc))
    first = asyncio.create_task(group.submit(1))
    await asyncio.sleep(0)
    rest = await asyncio.gather(*(group.submit(n) for n in (2, 3)))

    assert await first == 2 and rest == [4, 6]
    assert tries == [[1], [1], [1], [2, 3]]


async def test_a_race_lost_on_every_try_reaches_its_caller() -> None:
    async def batch(items: Sequence[int]) -> list[int]:
        raise RuntimeError("deadlock detected")

    group = GroupCommit("test", batch, retry_if=lambda exc: True, attempts=2)

    with pytest.raises(RuntimeError, match="deadlock"):
        await group.submit(1)
