"""The relay: committed outbox rows published in order, once per stretch across workers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from itertools import pairwise
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from adapters.broker import Batch, InProcessBroker, Subscription
from adapters.redis_broker import RedisBroker
from resolvers.event_log import last_id
from resolvers.events import PAYMENTS_TOPIC
from resolvers.outbox import record_event
from resolvers.relay import Relay
from tests.services import REDIS_URL, RUN_ID, port_open, unavailable


async def _record(count: int) -> list[int]:
    rows = [await record_event(topic=PAYMENTS_TOPIC, type="PAYMENT_CREATED") for _ in range(count)]
    return [int(r.id) for r in rows]


async def _batches(subscription: Subscription, count_events: int) -> list[Batch]:
    got: list[Batch] = []
    while sum(len(b.events) for b in got) < count_events:
        batches = await subscription.wait()
        assert batches is not None
        got += batches
    return got


async def test_the_relay_publishes_new_rows_in_contiguous_ordered_batches(db: str) -> None:
    await _record(3)  # history: a fresh relay starts after it
    broker = InProcessBroker()
    subscriber = broker.subscribe(maxsize=100)
    relay = Relay(broker, batch_size=4)
    assert await relay.step() == 0

    ids = await _record(10)
    while await relay.step():
        pass

    batches = await _batches(subscriber, 10)
    assert [e.id for b in batches for e in b.events] == ids
    assert batches[0].after == ids[0] - 1
    assert all(b.after == a.last for a, b in pairwise(batches))
    assert max(len(b.events) for b in batches) <= 4


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    parts = urlsplit(REDIS_URL)
    if not port_open(parts.hostname or "127.0.0.1", parts.port or 6379):
        unavailable("Redis", REDIS_URL)
    prefix = f"carepay-test-{RUN_ID}-relay-{uuid.uuid4().hex[:8]}"
    yield prefix
    client = Redis.from_url(REDIS_URL)
    await client.delete(f"{prefix}:relay-cursor")
    await client.aclose()


async def test_two_workers_relays_on_redis_publish_each_row_once(
    db: str, redis_prefix: str
) -> None:
    one, two, listener = (RedisBroker(REDIS_URL, prefix=redis_prefix) for _ in range(3))
    await listener.start()
    try:
        await listener.subscribed.wait()
        subscriber = listener.subscribe(maxsize=1000)
        relays = [Relay(one, batch_size=3), Relay(two, batch_size=3)]
        for relay in relays:
            await relay.step()
        ids = await _record(20)
        for _ in range(20):
            for relay in relays:
                await relay.step()

        batches = await _batches(subscriber, 20)
        assert [e.id for b in batches for e in b.events] == ids  # none twice, none missing
        assert all(b.after == a.last for a, b in pairwise(batches))
    finally:
        for broker in (one, two, listener):
            await broker.close()


async def test_a_shared_cursor_past_the_outbox_is_rewound(db: str, redis_prefix: str) -> None:
    client = Redis.from_url(REDIS_URL)
    await client.set(f"{redis_prefix}:relay-cursor", 10**9)  # another database's position
    await client.aclose()
    broker = RedisBroker(REDIS_URL, prefix=redis_prefix)
    try:
        relay = Relay(broker)
        await relay.step()
        assert await broker.position() == await last_id()
        await _record(2)
        assert await relay.step() == 2
    finally:
        await broker.close()
