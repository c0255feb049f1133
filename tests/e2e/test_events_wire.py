"""Subscriptions on the wire: a real server, graphql-transport-ws message by message."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from graph.auth import mint_token
from models.enums import Role
from settings import Settings
from tests.e2e.events_support import (
    PAYMENT_EVENTS,
    STATUS_FEED,
    events_server,
    household,
    pay,
)
from tests.e2e.server import SECRET, ServerProcess
from tests.e2e.ws_client import GraphQLSocket

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(db: str) -> Iterator[ServerProcess]:
    limits = {"CAREPAY_WS_KEEP_ALIVE_SECONDS": "1", "CAREPAY_MAX_SUBSCRIPTIONS": "3"}
    with events_server(db, **limits) as running:
        yield running


async def test_alex_receives_his_payment_within_a_second_and_nothing_of_jordans(
    server: ServerProcess,
) -> None:
    payers = await household()
    async with (
        httpx.AsyncClient(timeout=30) as client,
        GraphQLSocket.open(server.ws_url, token=server.token("alex@example.org")) as alex,
        GraphQLSocket.open(server.ws_url, token=server.token("sam@example.org")) as sam,
    ):
        await alex.subscribe("alex", PAYMENT_EVENTS)
        await sam.subscribe("sam", PAYMENT_EVENTS)
        # The subscription is live once it delivers: a first payment proves it.
        warm_up = await pay(client, server, payers["alex"])
        for ws, op in ((alex, "alex"), (sam, "sam")):
            for kind in ("PAYMENT_CREATED", "PAYMENT_SUCCEEDED"):
                event = (await ws.next_payload(op))["data"]["paymentEvents"]
                assert (event["type"], event["payment"]["id"]) == (kind, warm_up["id"])

        jordans = await pay(client, server, payers["jordan"], "7.00")
        alexs = await pay(client, server, payers["alex"], "42.00")

        created = (await alex.next_payload("alex", within=1))["data"]["paymentEvents"]
        succeeded = (await alex.next_payload("alex", within=1))["data"]["paymentEvents"]
        received_at = time.monotonic()
        assert created["type"] == "PAYMENT_CREATED"
        assert succeeded["type"] == "PAYMENT_SUCCEEDED"
        assert succeeded["status"] == "SUCCEEDED"
        assert succeeded["payment"] == {"id": alexs["id"], "amount": {"amount": "42.00"}}
        assert received_at - alexs["answered_at"] < 1.0
        # The proxy payer sees the account's events too; nobody here sees Jordan's.
        sams = [(await sam.next_payload("sam"))["data"]["paymentEvents"] for _ in range(2)]
        assert [e["payment"]["id"] for e in sams] == [alexs["id"], alexs["id"]]
        for ws in (alex, sam):
            with pytest.raises(TimeoutError):
                await ws.receive(within=0.5)
        assert jordans["id"] not in {created["payment"]["id"], succeeded["payment"]["id"]}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"authorization": "Bearer not-a-jwt"}, id="garbage"),
        pytest.param({"authorization": "Basic YWxleDpzZWNyZXQ="}, id="not-bearer"),
        pytest.param("wrong-secret", id="wrong-secret"),
        pytest.param("unknown-member", id="unknown-member"),
    ],
)
async def test_a_missing_or_bad_token_closes_the_socket_with_4403(
    server: ServerProcess, payload: object
) -> None:
    await household()
    if payload == "wrong-secret":
        other = Settings.from_env({"CAREPAY_SECRET_KEY": "x" * 40})
        payload = {"authorization": f"Bearer {mint_token(other, 'alex@example.org')}"}
    elif payload == "unknown-member":
        payload = {"authorization": f"Bearer {server.token('nobody@example.org')}"}
    assert isinstance(payload, dict)
    async with GraphQLSocket.open(server.ws_url, init=False) as ws:
        await ws.send({"type": "connection_init", "payload": payload})
        await ws.subscribe("1", PAYMENT_EVENTS)
        assert await ws.closed_with() == 4403
    assert SECRET  # the server's own secret was never given to the socket


async def test_subscribing_before_connection_init_is_refused(server: ServerProcess) -> None:
    async with GraphQLSocket.open(server.ws_url, init=False) as ws:
        await ws.subscribe("1", PAYMENT_EVENTS)
        assert await ws.closed_with() == 4401


async def test_browser_origins_outside_the_allowlist_are_refused(server: ServerProcess) -> None:
    await household()
    with pytest.raises(InvalidStatus) as refused:
        async with GraphQLSocket.open(server.ws_url, origin="https://evil.example", init=False):
            pass
    assert refused.value.response.status_code == 403

    token = server.token("alex@example.org")
    async with GraphQLSocket.open(
        server.ws_url, token=token, origin="http://127.0.0.1:8000"
    ) as allowed:
        assert allowed.ws.subprotocol == "graphql-transport-ws"


async def test_keep_alive_pings_and_the_cap_on_subscriptions_per_connection(
    server: ServerProcess,
) -> None:
    await household()
    async with GraphQLSocket.open(server.ws_url, token=server.token("alex@example.org")) as ws:
        for op in ("1", "2", "3"):
            await ws.subscribe(op, PAYMENT_EVENTS)
        await ws.subscribe("4", PAYMENT_EVENTS)
        refused = await ws.receive()
        assert refused["type"] == "error" and refused["id"] == "4", refused
        assert refused["payload"][0]["message"] == "Subscription limit reached"

        with pytest.raises(TimeoutError):
            await ws.receive(within=2.5)  # nothing but the server's pings meanwhile
        assert ws.pings >= 1


async def test_the_staff_feed_is_an_error_for_members_and_every_account_for_staff(
    server: ServerProcess,
) -> None:
    payers = await household()
    async with (
        httpx.AsyncClient(timeout=30) as client,
        GraphQLSocket.open(server.ws_url, token=server.token("alex@example.org")) as alex,
        GraphQLSocket.open(
            server.ws_url, token=server.token("billing@example.org", role=Role.STAFF)
        ) as staff,
    ):
        await alex.subscribe("feed", STATUS_FEED)
        refused = await alex.receive()
        assert refused["type"] == "error", refused
        assert refused["payload"][0]["extensions"] == {"code": "FORBIDDEN"}

        await staff.subscribe("feed", STATUS_FEED)
        first = await pay(client, server, payers["jordan"])
        # Live from the first delivery on; then every account's payments arrive in order.
        while (await staff.next_payload("feed"))["data"]["paymentStatusFeed"]["type"] != (
            "PAYMENT_SUCCEEDED"
        ):
            pass
        made = [await pay(client, server, payers[name]) for name in ("alex", "jordan")]
        seen = [
            (e["type"], e["payment"]["id"])
            for e in [(await staff.next_payload("feed"))["data"]["paymentStatusFeed"]]
            + [(await staff.next_payload("feed"))["data"]["paymentStatusFeed"] for _ in range(3)]
        ]
        expected = [(t, p["id"]) for p in made for t in ("PAYMENT_CREATED", "PAYMENT_SUCCEEDED")]
        assert seen == expected
        assert first["id"] not in {p for _, p in seen}
