"""Cohorts: live subscriptions of one viewer and document share a stream; each member's
socket gets every frame in order, at once while it keeps up, and a stalled one is cut off
with a lag error without holding up the others."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from graph.cohorts import Cohorts, Member, cohort_key
from graph.context import Context
from models.enums import PaymentEventType, Role
from resolvers.access import load_viewer
from resolvers.events import PAYMENTS_TOPIC, EventHub
from resolvers.outbox import record_event
from tests import factories
from tests.event_helpers import payment, running_hub, wait_until
from tests.graph.client import SCHEMA, SETTINGS

FEED = "subscription Feed { paymentStatusFeed { cursor type payment { id } } }"


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


def _next(n: int) -> dict[str, Any]:
    return {"id": "1", "type": "next", "payload": {"data": {"n": n}}}


async def test_a_member_whose_socket_keeps_up_sends_each_message_at_once_without_a_task() -> None:
    socket = Socket()
    member = Member("1", socket.send, queue_size=2)
    tasks_before = asyncio.all_tasks()

    assert all(member.offer(_next(n)) for n in range(5))  # more than the queue holds

    assert socket.sent == [_next(n) for n in range(5)]
    assert asyncio.all_tasks() == tasks_before
    assert not member.offer({"id": "1", "type": "complete"})  # its last: it leaves the cohort
    assert member.ended.done() and member.ended.exception() is None
    assert not member.offer(_next(5))  # nothing after the end
    assert socket.kinds() == ["next"] * 5 + ["complete"]


async def test_messages_offered_during_a_waiting_send_follow_it_in_order() -> None:
    socket = Socket()
    member = Member("1", socket.send, queue_size=2)
    socket.stall()

    assert member.offer(_next(0)) and member.offer(_next(1)) and member.offer(_next(2))
    assert socket.sent == []

    socket.release()
    await wait_until(lambda: len(socket.sent) == 3)
    assert socket.sent == [_next(0), _next(1), _next(2)]
    assert member.offer(_next(3))  # caught up: at once again
    assert socket.sent[-1] == _next(3)


async def test_a_member_too_far_behind_gets_a_lag_error_after_its_waiting_send() -> None:
    socket = Socket()
    member = Member("1", socket.send, queue_size=2)
    socket.stall()

    offered = [member.offer(_next(n)) for n in range(4)]

    assert offered == [True, True, True, False]  # one waiting, two queued, then too many
    socket.release()
    await asyncio.wait_for(member.ended, timeout=5)
    assert socket.kinds() == ["next", "error"]
    assert socket.sent[0] == _next(0)
    assert socket.sent[1]["payload"][0]["extensions"]["code"] == "SUBSCRIBER_LAGGING"


async def test_a_send_that_fails_ends_the_member_with_its_error() -> None:
    member = Member("1", Socket(fails=True).send, queue_size=2)

    assert not member.offer(_next(0))
    with pytest.raises(RuntimeError, match="socket closed"):
        await member.ended


@contextmanager
def _members(cohorts: Cohorts, context: Context, sockets: list[Socket]) -> Iterator[list[Member]]:
    payload = {"query": FEED, "variables": None, "operationName": "Feed"}
    key = cohort_key(context, payload)
    assert key is not None
    with ExitStack() as stack:
        yield [
            stack.enter_context(cohorts.joined(key, context, payload, "1", socket.send))
            for socket in sockets
        ]


async def _staff_context(hub: EventHub) -> Context:
    viewer = await load_viewer("billing@example.org", Role.STAFF.value)
    return Context(settings=SETTINGS, viewer=viewer, events=hub)


async def test_a_stalled_member_is_cut_off_while_the_rest_of_its_cohort_gets_every_event(
    db: str,
) -> None:
    await factories.member("billing@example.org", staff=True)
    alex = await factories.member("alex@example.org")
    account = await factories.account(alex)
    cohorts = Cohorts(SCHEMA, queue_size=2)
    fast, stalled = Socket(), Socket()
    async with running_hub() as hub:
        context = await _staff_context(hub)
        with _members(cohorts, context, [fast, stalled]) as (_, stalled_member):
            assert len(cohorts) == 1  # one stream for both sockets
            await wait_until(lambda: len(hub.broker.local) == 1)
            stalled.stall()

            for _ in range(5):
                await payment(alex, account)

            await wait_until(lambda: len(fast.sent) == 5)
            assert [m["payload"]["data"]["paymentStatusFeed"]["type"] for m in fast.sent] == [
                "PAYMENT_SUCCEEDED"
            ] * 5
            assert stalled.sent == []  # still stalled: nobody waited for it
            stalled.release()
            await asyncio.wait_for(stalled_member.ended, timeout=5)
            assert stalled.kinds() == ["next", "error"]

            await payment(alex, account)
            await wait_until(lambda: len(fast.sent) == 6)
            assert stalled.kinds() == ["next", "error"]  # it left the cohort
        assert len(cohorts) == 0  # the last member out stops the stream


async def test_a_member_whose_send_fails_leaves_and_the_others_carry_on(db: str) -> None:
    await factories.member("billing@example.org", staff=True)
    alex = await factories.member("alex@example.org")
    account = await factories.account(alex)
    cohorts = Cohorts(SCHEMA, queue_size=2)
    healthy, broken = Socket(), Socket(fails=True)
    async with running_hub() as hub:
        context = await _staff_context(hub)
        with _members(cohorts, context, [healthy, broken]) as (_, broken_member):
            await wait_until(lambda: len(hub.broker.local) == 1)

            await payment(alex, account)
            with pytest.raises(RuntimeError, match="socket closed"):
                await asyncio.wait_for(broken_member.ended, timeout=5)
            await payment(alex, account)

            await wait_until(lambda: len(healthy.sent) == 2)
            assert healthy.kinds() == ["next", "next"]


async def test_the_events_of_one_batch_leave_back_to_back_on_each_socket(db: str) -> None:
    await factories.member("billing@example.org", staff=True)
    alex = await factories.member("alex@example.org")
    made = await payment(alex, await factories.account(alex))
    wire: list[tuple[Socket, dict[str, Any]]] = []
    first, second = Socket(wire=wire), Socket(wire=wire)
    async with running_hub() as hub:
        context = await _staff_context(hub)
        with _members(Cohorts(SCHEMA, queue_size=2), context, [first, second]):
            await wait_until(lambda: len(hub.broker.local) == 1)

            async with in_transaction() as conn:  # one batch of two events
                for kind in (PaymentEventType.PAYMENT_CREATED, PaymentEventType.PAYMENT_SUCCEEDED):
                    await record_event(
                        topic=PAYMENTS_TOPIC,
                        type=kind.value,
                        account_id=made.account_id,
                        payment_id=made.id,
                        using_db=conn,
                    )
            await wait_until(lambda: len(wire) == 4)

    sockets = [socket for socket, _ in wire]
    assert sockets in ([first, first, second, second], [second, second, first, first])
    types = [m["payload"]["data"]["paymentStatusFeed"]["type"] for _, m in wire]
    assert types == ["PAYMENT_CREATED", "PAYMENT_SUCCEEDED"] * 2
