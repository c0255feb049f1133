"""Bad subscribe messages: refused on their own, without a card number, and the socket lives on."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from graph.ws import VARIABLES_MESSAGE
from resolvers.event_log import event_cursor, last_id
from resolvers.events import AHEAD_MESSAGE
from tests.e2e.events_support import PAYMENT_EVENTS, STATUS_FEED, events_server, household, pay
from tests.e2e.server import ServerProcess
from tests.e2e.ws_client import GraphQLSocket

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(db: str) -> Iterator[ServerProcess]:
    with events_server(db) as running:
        yield running


@pytest.mark.parametrize("variables", ["x", ["a"], 5])
async def test_variables_that_are_not_an_object_refuse_that_operation_only(
    server: ServerProcess, variables: object
) -> None:
    payers = await household()
    async with (
        httpx.AsyncClient(timeout=30) as client,
        GraphQLSocket.open(server.ws_url, token=server.token("alex@example.org")) as ws,
    ):
        await ws.subscribe("live", PAYMENT_EVENTS)
        first = await pay(client, server, payers["alex"])
        assert (await ws.next_payload("live"))["data"]["paymentEvents"]["payment"]["id"] == first[
            "id"
        ]
        await ws.next_payload("live")  # its PAYMENT_SUCCEEDED

        payload = {"query": PAYMENT_EVENTS, "variables": variables}
        await ws.send({"id": "bad", "type": "subscribe", "payload": payload})
        refused = await ws.receive()
        second = await pay(client, server, payers["alex"])
        event = (await ws.next_payload("live"))["data"]["paymentEvents"]

    assert refused == {
        "id": "bad",
        "type": "error",
        "payload": [{"message": VARIABLES_MESSAGE, "extensions": {"code": "BAD_USER_INPUT"}}],
    }
    assert event["payment"]["id"] == second["id"]


async def test_an_unknown_operation_name_closes_the_socket_without_echoing_a_card_number(
    server: ServerProcess,
) -> None:
    await household()
    async with GraphQLSocket.open(server.ws_url, token=server.token("alex@example.org")) as ws:
        payload = {"query": STATUS_FEED, "operationName": "4242424242424242"}
        await ws.send({"id": "1", "type": "subscribe", "payload": payload})
        try:
            await ws.ws.recv()
        except Exception as closed:  # the close frame, as the client library reports it
            reason = str(getattr(closed, "rcvd", closed))
        else:
            raise AssertionError("the socket stayed open")

    assert "Unknown operation named" in reason
    assert "4242424242424242" not in reason
    assert "4242424242424242" not in server.log()


async def test_a_document_over_the_token_limit_closes_the_socket_at_once(
    server: ServerProcess,
) -> None:
    await household()
    document = "subscription S { " + "a " * 200_000 + "}"
    async with GraphQLSocket.open(server.ws_url, token=server.token("alex@example.org")) as ws:
        await ws.send({"id": "big", "type": "subscribe", "payload": {"query": document}})

        assert await ws.closed_with(within=10) == 4400  # as for any syntax error


async def test_a_cursor_ahead_of_the_newest_event_is_refused_over_the_socket(
    server: ServerProcess,
) -> None:
    await household()
    ahead = event_cursor(await last_id() + 1)  # a cursor of another database
    async with GraphQLSocket.open(server.ws_url, token=server.token("alex@example.org")) as ws:
        await ws.subscribe("ahead", PAYMENT_EVENTS, {"after": ahead})
        refused = await ws.receive()

    assert refused["id"] == "ahead", refused
    errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert [e["message"] for e in errors] == [AHEAD_MESSAGE]


@pytest.mark.parametrize("payload", [["a"], "x", {"query": 5}, {}])
async def test_a_subscribe_payload_that_is_not_an_operation_closes_with_4400(
    server: ServerProcess, payload: object
) -> None:
    await household()
    async with GraphQLSocket.open(server.ws_url, token=server.token("alex@example.org")) as ws:
        await ws.send({"id": "1", "type": "subscribe", "payload": payload})

        assert await ws.closed_with() == 4400
