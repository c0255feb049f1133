"""A WebSocket client that reads from its socket only when asked: a stalled browser tab.

Client libraries read ahead into their own buffers; this one uses websockets' sans-I/O
protocol over a raw socket with a tiny receive buffer, so when the test stops reading,
the server's writes really back up.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from tests.e2e.ws_client import PROTOCOL


class StalledSocket:
    """graphql-transport-ws over a raw socket, read only inside `receive`."""

    def __init__(self, url: str) -> None:
        self.protocol = ClientProtocol(parse_uri(url), subprotocols=[PROTOCOL], max_size=2**22)
        uri = parse_uri(url)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((uri.host, uri.port))
        self.sock.setblocking(False)
        self.pending: list[dict[str, Any]] = []

    async def handshake(self) -> None:
        """Open the WebSocket session."""
        self.protocol.send_request(self.protocol.connect())
        await self._flush()
        while self.protocol.state is State.CONNECTING:
            await self._read()
        assert self.protocol.state is State.OPEN, self.protocol.handshake_exc

    async def send(self, message: dict[str, Any]) -> None:
        """Send one protocol message."""
        self.protocol.send_text(json.dumps(message).encode())
        await self._flush()

    async def receive(self, *, within: float = 5.0) -> dict[str, Any]:
        """The next text message (answering pings), reading the socket as needed."""
        async with asyncio.timeout(within):
            while not self.pending:
                await self._read()
        return self.pending.pop(0)

    async def _read(self) -> None:
        data = await asyncio.get_running_loop().sock_recv(self.sock, 65536)
        if not data:
            raise ConnectionError("server closed the connection")
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                message = json.loads(event.data)
                if message["type"] == "ping":
                    await self.send({"type": "pong"})
                else:
                    self.pending.append(message)
        await self._flush()

    async def _flush(self) -> None:
        for chunk in self.protocol.data_to_send():
            if chunk:
                await asyncio.get_running_loop().sock_sendall(self.sock, chunk)

    def close(self) -> None:
        """Drop the connection."""
        self.sock.close()
