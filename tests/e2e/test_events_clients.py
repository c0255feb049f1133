"""Real clients against a running server: the reference graphql-ws (Node.js) and Python's gql."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

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
from tests.services import unavailable

pytestmark = pytest.mark.e2e
JS = Path(__file__).parent / "js"


@pytest.fixture
def server(db: str) -> Iterator[ServerProcess]:
    with events_server(db) as running:
        yield running


@pytest.fixture(scope="session")
def node_client() -> Path:
    """tests/e2e/js with its pinned packages installed (npm ci on first use)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("Node.js", "no node/npm on PATH")
    if not (JS / "node_modules" / "graphql-ws").is_dir():
        done = subprocess.run(
            [str(npm), "ci", "--no-audit", "--no-fund"],
            cwd=JS,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            unavailable("npm packages graphql-ws and ws", done.stderr[-2000:])
    return JS / "subscribe.mjs"


async def _lines(process: asyncio.subprocess.Process, count: int) -> list[dict[str, Any]]:
    """Read JSON lines until `count` `next` lines arrived; each stamped when read."""
    assert process.stdout is not None
    lines: list[dict[str, Any]] = []
    async with asyncio.timeout(15):
        while sum("next" in line for line in lines) < count:
            raw = await process.stdout.readline()
            assert raw, f"client ended early: {lines}"
            lines.append({**json.loads(raw), "read_at": time.monotonic()})
    return lines


async def test_the_reference_graphql_ws_client_gets_alexs_payment_and_nothing_of_jordans(
    server: ServerProcess, node_client: Path
) -> None:
    payers = await household()
    after = event_cursor(await last_id())  # from here on: no race with the subscription start
    process = await asyncio.create_subprocess_exec(
        "node",
        str(node_client),
        server.ws_url,
        server.token("alex@example.org"),
        PAYMENT_EVENTS,
        json.dumps({"after": after}),
        "2",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            await pay(client, server, payers["jordan"], "7.00")
            alexs = await pay(client, server, payers["alex"], "42.00")
        lines = await _lines(process, 2)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
    assert lines[0] == {"ready": True, "read_at": lines[0]["read_at"]}
    events = [line for line in lines if "next" in line]
    data = [e["next"]["data"]["paymentEvents"] for e in events]
    assert [(d["type"], d["payment"]["id"]) for d in data] == [
        ("PAYMENT_CREATED", alexs["id"]),
        ("PAYMENT_SUCCEEDED", alexs["id"]),
    ]
    assert events[1]["read_at"] - alexs["answered_at"] < 1.0


async def test_the_reference_client_sees_a_bad_token_closed_with_4403(
    server: ServerProcess, node_client: Path
) -> None:
    await household()
    done = await asyncio.create_subprocess_exec(
        "node",
        str(node_client),
        server.ws_url,
        "not-a-token",
        PAYMENT_EVENTS,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(done.communicate(), 15)
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert {"closed": 4403, "reason": "Forbidden"} in lines
    assert not any("next" in line for line in lines)


async def test_pythons_gql_client_receives_payment_events_and_staff_feed_refusals(
    server: ServerProcess,
) -> None:
    payers = await household()
    after = event_cursor(await last_id())

    def transport(email: str, role: Role = Role.MEMBER) -> WebsocketsTransport:
        token = server.token(email, role=role)
        return WebsocketsTransport(
            url=server.ws_url,
            init_payload={"authorization": f"Bearer {token}"},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        )

    async with (
        Client(transport=transport("alex@example.org")) as session,
        httpx.AsyncClient(timeout=30) as client,
    ):
        await pay(client, server, payers["jordan"])
        before = await pay(client, server, payers["alex"], "12.34")
        request = gql(PAYMENT_EVENTS)
        request.variable_values = {"after": after}
        stream = session.subscribe(request)
        async with asyncio.timeout(10):
            replayed = [(await anext(stream))["paymentEvents"] for _ in range(2)]
            live = await pay(client, server, payers["alex"], "5.00")
            received = replayed + [(await anext(stream))["paymentEvents"] for _ in range(2)]
        await stream.aclose()

        assert [(e["type"], e["payment"]["id"]) for e in received] == [
            (kind, made["id"])
            for made in (before, live)
            for kind in ("PAYMENT_CREATED", "PAYMENT_SUCCEEDED")
        ]
        assert received[1]["payment"]["amount"] == {"amount": "12.34"}

        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(gql(STATUS_FEED)):
                pass
        assert refused.value.errors is not None
        assert refused.value.errors[0]["extensions"] == {"code": "FORBIDDEN"}
