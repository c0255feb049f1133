"""Two `carepay serve` processes on one database and Redis: a payment made through one
reaches subscribers on the other, and every subscriber gets every event once."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from redis.asyncio import Redis

from models import OutboxEvent
from models.enums import Role
from resolvers.event_log import event_cursor, last_id
from resolvers.events import PAYMENTS_TOPIC
from tests.e2e.events_support import (
    EVENTS_ENV,
    PAYMENT_EVENTS,
    STATUS_FEED,
    household,
    pay,
    unexpected_errors,
)
from tests.e2e.server import ServerProcess
from tests.e2e.ws_client import GraphQLSocket
from tests.services import REDIS_URL, RUN_ID, port_open, unavailable

pytestmark = pytest.mark.e2e


@pytest.fixture
def cluster(db: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    parts = urlsplit(REDIS_URL)
    if not port_open(parts.hostname or "127.0.0.1", parts.port or 6379):
        unavailable("Redis", REDIS_URL)
    # One prefix per database: the shared relay cursor is a position in *this* outbox.
    prefix = f"carepay-test-{RUN_ID}-cluster-{uuid.uuid4().hex[:8]}"
    env = {**EVENTS_ENV, "CAREPAY_REDIS_URL": REDIS_URL, "CAREPAY_REDIS_PREFIX": prefix}
    with ServerProcess(db, migrate=False, env=env) as one, ServerProcess(db, env=env) as two:
        yield one, two
    for server in (one, two):
        assert unexpected_errors(server.log()) == []


async def test_a_payment_through_one_worker_reaches_subscribers_on_the_other_once(
    cluster: tuple[ServerProcess, ServerProcess],
) -> None:
    one, two = cluster
    payers = await household()
    after = event_cursor(await last_id())
    staff = one.token("billing@example.org", role=Role.STAFF)
    async with (
        httpx.AsyncClient(timeout=30) as client,
        GraphQLSocket.open(two.ws_url, token=two.token("alex@example.org")) as alex_on_two,
        GraphQLSocket.open(one.ws_url, token=staff) as staff_on_one,
        GraphQLSocket.open(two.ws_url, token=staff) as staff_on_two,
    ):
        await alex_on_two.subscribe("e", PAYMENT_EVENTS, {"after": after})
        for ws in (staff_on_one, staff_on_two):
            await ws.subscribe("e", STATUS_FEED, {"after": after})

        made_on_one = await pay(client, one, payers["alex"], "42.00")
        created = (await alex_on_two.next_payload("e"))["data"]["paymentEvents"]
        succeeded = (await alex_on_two.next_payload("e"))["data"]["paymentEvents"]
        assert time.monotonic() - made_on_one["answered_at"] < 1.0
        assert [created["type"], succeeded["type"]] == ["PAYMENT_CREATED", "PAYMENT_SUCCEEDED"]
        assert succeeded["payment"]["id"] == made_on_one["id"]

        # Both workers relay; each stretch of the outbox still reaches each subscriber once.
        for n in range(10):
            await pay(client, (one, two)[n % 2], payers[("alex", "jordan")[n % 3 % 2]])
        expected = [
            event_cursor(int(i))
            for (i,) in await OutboxEvent.filter(topic=PAYMENTS_TOPIC, id__gt=0)
            .order_by("id")
            .values_list("id")
        ]
        for ws in (staff_on_one, staff_on_two):
            seen = [
                (await ws.next_payload("e"))["data"]["paymentStatusFeed"]["cursor"]
                for _ in expected
            ]
            assert seen == expected
            with pytest.raises(TimeoutError):
                await ws.receive(within=0.3)

    # The events went through Redis: the shared relay cursor stands at the last one.
    redis = Redis.from_url(REDIS_URL)
    try:
        prefix = one.env["CAREPAY_REDIS_PREFIX"]
        assert int(await redis.get(f"{prefix}:relay-cursor")) == await last_id()
    finally:
        await redis.aclose()
