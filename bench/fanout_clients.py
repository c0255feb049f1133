"""One client OS process of bench_subscribers: many graphql-transport-ws subscribers.

Frames are only timestamped while the run goes on (so parsing costs no latency) and
decoded after it; the process reports, per subscriber, the receipt times of every
payment event frame by payment id and event type, and the events of one payment as
received (the frames the plain broadcast then sends for each of its payments).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

PROTOCOL = Subprotocol("graphql-transport-ws")
CONNECTING_AT_ONCE = 50


@dataclass(frozen=True)
class ClientPlan:
    """What one client process opens: `count` subscriptions of `document` as `token`."""

    url: str
    token: str
    document: str
    after: str
    count: int


async def _subscriber(plan: ClientPlan, gate: asyncio.Semaphore) -> ClientConnection:
    async with gate:
        ws = await connect(plan.url, subprotocols=[PROTOCOL], ping_interval=None, max_size=2**22)
        payload = {} if plan.token == "-" else {"authorization": f"Bearer {plan.token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await ws.recv())
        if ack["type"] != "connection_ack":
            raise RuntimeError(f"not acknowledged: {ack}")
        variables = {"after": None if plan.after == "-" else plan.after}
        subscribe = {"query": plan.document, "variables": variables}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        return ws


async def _listen(ws: ClientConnection, frames: list[tuple[float, str | bytes]]) -> None:
    async for raw in ws:
        frames.append((time.monotonic(), raw))
        if '"ping"' in str(raw)[:20]:
            await ws.send(json.dumps({"type": "pong"}))


Receipts = dict[str, dict[str, list[float]]]  # payment id -> event type -> receipt times


def _receipts(frames: list[tuple[float, str | bytes]]) -> tuple[Receipts, list[Any]]:
    by_payment: Receipts = {}
    events: dict[str, list[Any]] = {}
    sample: list[Any] = []
    for at, raw in frames:
        message = json.loads(raw)
        if message.get("type") != "next":
            continue
        event = message["payload"]["data"]["paymentEvents"]
        payment_id = event["payment"]["id"]
        by_payment.setdefault(payment_id, {}).setdefault(event["type"], []).append(at)
        events.setdefault(payment_id, []).append(event)
        if event["type"] == "PAYMENT_SUCCEEDED":
            sample = sample or events[payment_id]
    return by_payment, sample


async def _run(plan: ClientPlan, conn: Connection) -> None:
    gate = asyncio.Semaphore(CONNECTING_AT_ONCE)
    sockets = await asyncio.gather(*(_subscriber(plan, gate) for _ in range(plan.count)))
    frames: list[list[tuple[float, str | bytes]]] = [[] for _ in sockets]
    listeners = [
        asyncio.ensure_future(_listen(ws, f)) for ws, f in zip(sockets, frames, strict=True)
    ]
    conn.send("ready")
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "stop"
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    decoded = [_receipts(f) for f in frames]
    sample = next((s for _, s in decoded if s), [])
    conn.send(([r for r, _ in decoded], sample))


def run_clients(plan: ClientPlan, conn: Connection) -> None:
    """Process entry point: subscribe, report "ready", record until "stop", send receipts."""
    asyncio.run(_run(plan, conn))
