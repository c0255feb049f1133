"""Redis stops: payments are still accepted, and their events arrive once Redis is back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from models.enums import Role
from resolvers.event_log import event_cursor, last_id
from tests.e2e.events_support import (
    PAYMENT_EVENTS,
    STATUS_FEED,
    events_server,
    household,
    pay,
)
from tests.e2e.server import ServerProcess
from tests.e2e.ws_client import GraphQLSocket
from tests.redis_server import RedisServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def server(db: str, redis: RedisServer) -> Iterator[ServerProcess]:
    prefix = f"carepay-outage-{uuid.uuid4().hex[:8]}"
    with events_server(db, CAREPAY_REDIS_URL=redis.url, CAREPAY_REDIS_PREFIX=prefix) as running:
        yield running


async def test_events_committed_while_redis_is_down_arrive_once_it_is_back(
    server: ServerProcess, redis: RedisServer
) -> None:
    payers = await household()
    after = event_cursor(await last_id())
    staff = server.token("billing@example.org", role=Role.STAFF)
    async with (
        httpx.AsyncClient(timeout=30) as client,
        GraphQLSocket.open(server.ws_url, token=server.token("alex@example.org")) as alex,
        GraphQLSocket.open(server.ws_url, token=staff) as feed,
    ):
        await alex.subscribe("e", PAYMENT_EVENTS, {"after": after})
        await feed.subscribe("e", STATUS_FEED, {"after": after})
        before = await pay(client, server, payers["alex"])
        for ws, field in ((alex, "paymentEvents"), (feed, "paymentStatusFeed")):
            got = [(await ws.next_payload("e"))["data"][field] for _ in range(2)]
            assert {e["payment"]["id"] for e in got} == {before["id"]}

        redis.stop()
        during = [await pay(client, server, payers[name]) for name in ("alex", "jordan", "alex")]
        assert all(p["status"] == "SUCCEEDED" for p in during)  # payments do not need Redis
        with pytest.raises(TimeoutError):
            await alex.receive(within=0.5)  # events travel through Redis, which is away

        redis.start()
        alexs = [p["id"] for p in during if p is not during[1]]
        got = [(await alex.next_payload("e", within=15))["data"]["paymentEvents"] for _ in range(4)]
        assert [(e["type"], e["payment"]["id"]) for e in got] == [
            (kind, payment)
            for payment in alexs
            for kind in ("PAYMENT_CREATED", "PAYMENT_SUCCEEDED")
        ]
        everything = [
            (await feed.next_payload("e", within=15))["data"]["paymentStatusFeed"] for _ in range(6)
        ]
        assert [e["payment"]["id"] for e in everything] == [
            p["id"] for p in during for _ in range(2)
        ]

        after_outage = await pay(client, server, payers["alex"])
        for ws, field in ((alex, "paymentEvents"), (feed, "paymentStatusFeed")):
            got = [(await ws.next_payload("e"))["data"][field] for _ in range(2)]
            assert [e["payment"]["id"] for e in got] == [after_outage["id"]] * 2
            with pytest.raises(TimeoutError):
                await ws.receive(within=0.3)  # and nothing twice
