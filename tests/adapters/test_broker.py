"""The in-process broker: fan-out, bounded queues that never block the publisher, resync."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from adapters.broker import Batch, Event, InProcessBroker

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def batch(after: int, last: int) -> Batch:
    events = tuple(
        Event(id=i, topic="payments", type="X", occurred_at=AT) for i in range(after + 1, last + 1)
    )
    return Batch(after=after, last=last, events=events)


async def test_every_subscriber_gets_every_batch_in_order() -> None:
    broker = InProcessBroker()
    first, second = broker.subscribe(maxsize=8), broker.subscribe(maxsize=8)

    await broker.publish(batch(0, 2))
    await broker.publish(batch(2, 3))

    for subscriber in (first, second):
        got = await subscriber.wait()
        assert got is not None
        assert [(b.after, b.last) for b in got] == [(0, 2), (2, 3)]


async def test_a_full_queue_is_dropped_and_marked_lagging_without_blocking_the_publisher() -> None:
    broker = InProcessBroker()
    stuck = broker.subscribe(maxsize=3)
    healthy = broker.subscribe(maxsize=3)

    started = time.monotonic()
    for n in range(100):
        await broker.publish(batch(n, n + 1))
        got = await healthy.wait()  # the healthy one keeps up
        assert got is not None
        assert [b.last for b in got] == [n + 1]
        assert stuck.queued <= 3  # bounded, however long it stays stuck
    assert time.monotonic() - started < 1

    assert stuck.overflows > 0
    assert await stuck.wait() is None  # told to re-read the outbox
    await broker.publish(batch(100, 101))
    got = await stuck.wait()
    assert got is not None
    assert [b.last for b in got] == [101]


async def test_resync_wakes_a_waiting_subscriber_and_close_stops_delivery() -> None:
    broker = InProcessBroker()
    subscriber = broker.subscribe(maxsize=4)
    waiting = asyncio.ensure_future(subscriber.wait())
    await asyncio.sleep(0)
    assert not waiting.done()

    broker.local.resync()

    assert await asyncio.wait_for(waiting, 1) is None
    subscriber.close()
    assert len(broker.local) == 0
    await broker.publish(batch(0, 1))
    assert subscriber.queued == 0


def test_a_batch_survives_its_json_form() -> None:
    original = Batch(
        after=4,
        last=9,
        events=(
            Event(
                id=7,
                topic="payments",
                type="PAYMENT_SUCCEEDED",
                occurred_at=AT,
                account_id=3,
                member_id=2,
                payment_id=11,
                payload={"status": "SUCCEEDED", "amount": 12540},
            ),
        ),
    )
    assert Batch.from_json(original.to_json()) == original


async def test_prepare_runs_before_the_subscribers_get_the_batch() -> None:
    broker = InProcessBroker()
    subscriber = broker.subscribe(maxsize=4)
    seen_while_preparing: list[int] = []

    async def prepare(prepared: Batch) -> None:
        seen_while_preparing.append(subscriber.queued)
        await asyncio.sleep(0)  # a lookup that waits on the database

    broker.local.prepare = prepare
    await broker.publish(batch(0, 2))

    assert seen_while_preparing == [0]  # nothing was offered until it was done
    got = await subscriber.wait()
    assert got is not None and [b.last for b in got] == [2]


async def test_a_failed_prepare_still_delivers_and_nothing_is_prepared_for_nobody() -> None:
    broker = InProcessBroker()
    calls: list[int] = []

    async def prepare(prepared: Batch) -> None:
        calls.append(prepared.last)
        raise OSError("database away")

    broker.local.prepare = prepare
    await broker.publish(batch(0, 1))  # no subscriber yet
    subscriber = broker.subscribe(maxsize=4)
    await broker.publish(batch(1, 2))

    assert calls == [2]
    got = await subscriber.wait()
    assert got is not None and [b.last for b in got] == [2]
