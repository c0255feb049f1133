"""The limit for bench_subscribers: a plain Starlette WebSocket broadcasting ready-made frames.

It speaks just enough graphql-transport-ws (connection_init -> connection_ack, subscribe)
for the same client to use it, holds every subscriber in a set, and on POST /publish
answers at once, then sends the posted `next` payload to every subscriber, one after
another: no database, no GraphQL, no broker.

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


async def _broadcast(payload: dict[str, Any]) -> None:
    for websocket, op_id in list(subscribers.items()):
        frame = json.dumps({"id": op_id, "type": "next", "payload": payload})
        try:
            await websocket.send_text(frame)
        except (WebSocketDisconnect, RuntimeError):
            subscribers.pop(websocket, None)


async def publish(request: Request) -> JSONResponse:
    """Answer, then broadcast the posted payload to every subscriber."""
    payload = await request.json()
    return JSONResponse(
        {"subscribers": len(subscribers)}, background=BackgroundTask(_broadcast, payload)
    )


app = Starlette(
    routes=[WebSocketRoute("/graphql", graphql_ws), Route("/publish", publish, methods=["POST"])]
)
