"""The limit for bench_subscribers: a plain Starlette WebSocket broadcasting ready-made frames.

It speaks just enough graphql-transport-ws (connection_init -> connection_ack, subscribe)
for the same client to use it, holds every subscriber in a set, and on POST /publish
answers at once, then sends the posted `next` payloads (the events of one payment, in
order) to every subscriber, one after another: no database, no GraphQL, no broker.
Each payload is encoded once, in carepay's compact JSON, so the frames carry the same
bytes as carepay's.

    uvicorn bench.broadcast_app:app --loop uvloop --http httptools
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

subscribers: dict[WebSocket, str] = {}


async def graphql_ws(websocket: WebSocket) -> None:
    """Ack the connection, remember the subscription, then wait for the client to leave."""
    await websocket.accept(subprotocol="graphql-transport-ws")
    try:
        while True:
            message = json.loads(await websocket.receive_text())
            if message["type"] == "connection_init":
                await websocket.send_text(json.dumps({"type": "connection_ack"}))
            elif message["type"] == "subscribe":
                subscribers[websocket] = message["id"]
            elif message["type"] == "ping":
                await websocket.send_text(json.dumps({"type": "pong"}))
    except WebSocketDisconnect:
        pass
    finally:
        subscribers.pop(websocket, None)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


async def _broadcast(payloads: list[dict[str, Any]]) -> None:
    encoded = [_dumps(payload) for payload in payloads]
    for websocket, op_id in list(subscribers.items()):
        try:
            for payload in encoded:
                await websocket.send_text(
                    f'{{"id":{_dumps(op_id)},"type":"next","payload":{payload}}}'
                )
        except (WebSocketDisconnect, RuntimeError):
            subscribers.pop(websocket, None)


async def publish(request: Request) -> JSONResponse:
    """Answer, then broadcast the posted payloads to every subscriber."""
    payloads = (await request.json())["payloads"]
    return JSONResponse(
        {"subscribers": len(subscribers)}, background=BackgroundTask(_broadcast, payloads)
    )


app = Starlette(
    routes=[WebSocketRoute("/graphql", graphql_ws), Route("/publish", publish, methods=["POST"])]
)
