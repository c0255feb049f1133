"""Helpers for the cohort tests: a stand-in socket, and subscriptions served as the
WebSocket handler serves them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from graph.cohorts import Cohorts
from graph.context import Context
from graph.sharing import sharing
from models import OutboxEvent
from models.enums import Role
from resolvers.access import load_viewer
from resolvers.event_log import event_cursor
from resolvers.events import PAYMENTS_TOPIC, EventHub
from tests.graph.client import SETTINGS

FEED = (
    "subscription Feed($after: String) "
    "{ paymentStatusFeed(after: $after) { cursor type payment { id } } }"
)


class Socket:
    """A stand-in for one WebSocket: records what it sends; while stalled, a send waits.

    `wire`, when given, records (socket, message) across sockets in the order sent.
    """

    def __init__(
        self, *, fails: bool = False, wire: list[tuple[Socket, dict[str, Any]]] | None = None
    ) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fails = fails
        self.wire = wire
        self._gate: asyncio.Future[None] | None = None

    def stall(self) -> None:
        self._gate = asyncio.get_running_loop().create_future()

    def release(self) -> None:
        assert self._gate is not None
        self._gate.set_result(None)
        self._gate = None

    async def send(self, message: dict[str, Any]) -> None:
        if self.fails:
            raise RuntimeError("socket closed")
        while self._gate is not None:
            await self._gate
        self.sent.append(message)
        if self.wire is not None:
            self.wire.append((self, message))

    def kinds(self) -> list[str]:
        return [m["type"] for m in self.sent]


EVENTS = (
    "subscription Events($after: String) "
    "{ paymentEvents(after: $after) { cursor type payment { id } } }"
)


@asynccontextmanager
async def serving(
    cohorts: Cohorts,
    context: Context,
    sockets: list[Socket],
    *,
    after: str | None = None,
    query: str = FEED,
) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Each socket's subscription (the staff feed unless `query` is given; from `after`, if
    given), as the WebSocket handler runs it: one task per socket."""
    shared = sharing(context, {"query": query, "variables": {"after": after}})
    assert shared is not None and (shared.after is None) == (after is None)
    tasks = [asyncio.create_task(cohorts.serve(shared, context, "1", s.send)) for s in sockets]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def staff_context(hub: EventHub) -> Context:
    return await context_of(hub, "billing@example.org", Role.STAFF)


async def context_of(hub: EventHub, email: str, role: Role = Role.MEMBER) -> Context:
    viewer = await load_viewer(email, role.value)
    return Context(settings=SETTINGS, viewer=viewer, events=hub)


def cursors(socket: Socket) -> list[str]:
    """The cursors of the events a socket got (all its messages must be events)."""
    assert all(m["type"] == "next" for m in socket.sent), socket.sent
    return [next(iter(m["payload"]["data"].values()))["cursor"] for m in socket.sent]


async def all_cursors(account_id: int | None = None) -> list[str]:
    """Every payment event's cursor (of one account, if given), oldest first."""
    rows = OutboxEvent.filter(topic=PAYMENTS_TOPIC)
    if account_id is not None:
        rows = rows.filter(account_id=account_id)
    ids = await rows.order_by("id").values_list("id")
    return [event_cursor(int(i)) for (i,) in ids]
