"""A small graphql-transport-ws client over `websockets`, speaking the protocol message by message.

async with GraphQLSocket.open(server.ws_url, token=server.token("alex@example.org")) as ws:
    await ws.subscribe("1", DOCUMENT, {"after": cursor})
    payload = await ws.next_payload("1")
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin, Subprotocol

PROTOCOL = Subprotocol("graphql-transport-ws")


class GraphQLSocket:
    """One WebSocket session; pings are answered and counted, not returned."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pings = 0

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        url: str,
        *,
        token: str | None = None,
        origin: str | None = None,
        init: bool = True,
        payload: dict[str, Any] | None = None,
    ) -> AsyncIterator[GraphQLSocket]:
        """Connect, and (with `init`) send connection_init and wait for the ack."""
        async with connect(
            url,
            subprotocols=[PROTOCOL],
            origin=Origin(origin) if origin else None,
            open_timeout=5,
            max_size=2**22,
        ) as ws:
            socket = cls(ws)
            if init:
                if payload is None:
                    payload = {"authorization": f"Bearer {token}"} if token else {}
                await socket.send({"type": "connection_init", "payload": payload})
                ack = await socket.receive()
                assert ack["type"] == "connection_ack", ack
            yield socket

    async def send(self, message: dict[str, Any]) -> None:
        """Send one protocol message."""
        await self.ws.send(json.dumps(message))

    async def receive(self, *, within: float = 5.0) -> dict[str, Any]:
        """The next message other than ping/pong, within `within` seconds."""
        async with asyncio.timeout(within):
            while True:
                message: dict[str, Any] = json.loads(await self.ws.recv())
                if message["type"] == "ping":
                    self.pings += 1
                    await self.send({"type": "pong"})
                elif message["type"] != "pong":
                    return message

    async def subscribe(
        self, op_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        """Start an operation."""
        payload = {"query": query, "variables": variables or {}}
        await self.send({"id": op_id, "type": "subscribe", "payload": payload})

    async def next_payload(self, op_id: str, *, within: float = 5.0) -> dict[str, Any]:
        """The payload of the next `next` message of an operation (fails on anything else)."""
        message = await self.receive(within=within)
        assert message.get("id") == op_id and message["type"] == "next", message
        payload: dict[str, Any] = message["payload"]
        return payload

    async def closed_with(self, *, within: float = 5.0) -> int | None:
        """The close code the server ends the session with."""
        try:
            async with asyncio.timeout(within):
                while True:
                    await self.ws.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
