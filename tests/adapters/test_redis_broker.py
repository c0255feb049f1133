"""The Redis broker against real Redis: one publication per stretch, fan-out, resync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from adapters.broker import Batch, Event
from adapters.redis_broker import RedisBroker
from tests.redis_server import RedisServer
from tests.services import REDIS_URL, RUN_ID, port_open, unavailable

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def batch(after: int, last: int) -> Batch:
    events = tuple(
        Event(id=i, topic="payments", type="X", occurred_at=AT) for i in range(after + 1, last + 1)
    )
    return Batch(after=after, last=last, events=events)


@pytest.fixture
def redis_url() -> str:
    parts = urlsplit(REDIS_URL)
    if not port_open(parts.hostname or "127.0.0.1", parts.port or 6379):
        unavailable("Redis", REDIS_URL)
    return REDIS_URL


@asynccontextmanager
async def broker(url: str, prefix: str) -> AsyncIterator[RedisBroker]:
    started = RedisBroker(url, prefix=prefix)
    await started.start()
    try:
        await asyncio.wait_for(started.subscribed.wait(), 5)
        yield started
    finally:
        await started.close()


async def test_each_stretch_is_published_once_and_reaches_every_worker(redis_url: str) -> None:
    prefix = f"carepay-test-{RUN_ID}-cas"
    async with broker(redis_url, prefix) as one, broker(redis_url, prefix) as two:
        on_one, on_two = one.subscribe(maxsize=8), two.subscribe(maxsize=8)
        assert await one.position() is None

        assert await one.publish(batch(0, 3)) is True
        assert await two.publish(batch(0, 3)) is False  # someone got there first
        assert await two.position() == 3
        assert await two.publish(batch(3, 5)) is True

        for subscriber in (on_one, on_two):
            seen: list[tuple[int, int]] = []
            while len(seen) < 2:
                got = await asyncio.wait_for(subscriber.wait(), 5)
                assert got is not None
                seen += [(b.after, b.last) for b in got]
            assert seen == [(0, 3), (3, 5)]
            assert [e.id for e in got[-1].events] == [4, 5]


async def test_after_redis_comes_back_every_subscriber_is_told_to_re_read_the_outbox() -> None:
    with RedisServer() as server:
        async with broker(server.url, f"carepay-test-{RUN_ID}-resync") as worker:
            subscriber = worker.subscribe(maxsize=8)
            waiting = asyncio.ensure_future(subscriber.wait())

            server.stop()
            with pytest.raises(Exception):  # noqa: B017 - any connection error will do
                await worker.publish(batch(0, 1))
            assert not waiting.done()
            server.start()

            assert await asyncio.wait_for(waiting, 10) is None  # resync: re-read the outbox
            assert await worker.publish(batch(1, 2)) is True  # the cursor went with the data
            got = await asyncio.wait_for(subscriber.wait(), 5)
            assert got is not None
            assert [b.last for b in got] == [2]
