"""Cohorts: payment subscriptions of one viewer and document share a stream; each member's
socket gets every frame in order, at once while it keeps up. A stalled one leaves the
cohort without holding up the others and, reading again, gets every event once from a
stream of its own. A resumed one catches up by itself, then joins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from adapters.broker import Event
from graph.cohorts import Cohorts, Member
from graph.context import Context
from graph.sharing import sharing
from models import OutboxEvent
from models.enums import PaymentEventType, Role
from resolvers.access import load_viewer
from resolvers.event_log import event_cursor, parse_event_cursor
from resolvers.event_stream import EventStream, Interest
from resolvers.events import PAYMENTS_TOPIC, EventHub
from resolvers.outbox import record_event
from tests import factories
from tests.event_helpers import payment, running_hub, wait_until
from tests.graph.client import SCHEMA, SETTINGS

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


async def test_a_member_too_far_behind_leaves_and_ends_once_what_it_took_is_sent() -> None:
    socket = Socket()
    member = Member("1", socket.send, queue_size=2)
    socket.stall()

    offered = [member.offer(_next(n), position=n) for n in range(1, 5)]

    assert offered == [True, True, True, False]  # one waiting, two queued, then too many
    assert member.detached and member.position == 3  # where its own stream is to start
    assert not member.offer(_next(5), position=5)
    assert not member.ended.done()
    socket.release()
    await asyncio.wait_for(member.ended, timeout=5)
    assert socket.sent == [_next(1), _next(2), _next(3)]


async def test_a_holding_member_sends_its_catch_up_first_then_only_what_that_did_not_cover() -> (
    None
):
    socket = Socket()
    member = Member("1", socket.send, queue_size=8, holding=True)

    assert all(member.offer(_next(n), position=n) for n in (5, 6, 7))
    assert socket.sent == []  # held while it catches up
    for n in (3, 4, 5, 6):
        assert await member.send_ahead(_next(n))
    member.release(6)  # the catch-up went up to outbox id 6

    assert socket.sent == [_next(n) for n in (3, 4, 5, 6, 7)]
    assert member.position == 7
    assert member.offer(_next(8), position=8)  # a member like any other now
    assert socket.sent[-1] == _next(8)


async def test_a_member_offered_too_much_while_catching_up_leaves_from_its_catch_up_point() -> None:
    socket = Socket()
    member = Member("1", socket.send, queue_size=2, holding=True)

    offered = [member.offer(_next(n), position=n) for n in (5, 6, 7)]

    assert offered == [True, True, False]
    assert member.detached
    member.release(6)
    assert member.ended.done() and member.position == 6
    assert socket.sent == []  # it goes on alone from 6; nothing held is sent twice


async def test_a_send_that_fails_ends_the_member_with_its_error() -> None:
    member = Member("1", Socket(fails=True).send, queue_size=2)

    assert not member.offer(_next(0))
    with pytest.raises(RuntimeError, match="socket closed"):
        await member.ended


@asynccontextmanager
async def _serving(
    cohorts: Cohorts, context: Context, sockets: list[Socket], *, after: str | None = None
) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Each socket's subscription to the feed (from `after`, if given), as the WebSocket
    handler runs it: one task per socket."""
    payload = {"query": FEED, "variables": {"after": after}, "operationName": "Feed"}
    shared = sharing(context, payload)
    assert shared is not None and (shared.after is None) == (after is None)
    tasks = [asyncio.create_task(cohorts.serve(shared, context, "1", s.send)) for s in sockets]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _staff_context(hub: EventHub) -> Context:
    viewer = await load_viewer("billing@example.org", Role.STAFF.value)
    return Context(settings=SETTINGS, viewer=viewer, events=hub)


def _cursors(socket: Socket) -> list[str]:
    assert all(m["type"] == "next" for m in socket.sent), socket.sent
    return [m["payload"]["data"]["paymentStatusFeed"]["cursor"] for m in socket.sent]


async def _all_cursors() -> list[str]:
    ids = await OutboxEvent.filter(topic=PAYMENTS_TOPIC).order_by("id").values_list("id")
    return [event_cursor(int(i)) for (i,) in ids]


async def test_a_stalled_member_leaves_without_delaying_the_others_and_then_gets_every_event_once(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    await factories.member("billing@example.org", staff=True)
    alex = await factories.member("alex@example.org")
    account = await factories.account(alex)
    cohorts = Cohorts(SCHEMA, queue_size=2)
    fast, stalled = Socket(), Socket()
    async with running_hub() as hub:
        context = await _staff_context(hub)
        async with _serving(cohorts, context, [fast, stalled]):
            await wait_until(lambda: len(hub.broker.local) == 1)
            assert len(cohorts) == 1  # one stream for both sockets
            stalled.stall()

            for _ in range(6):
                await payment(alex, account)

            await wait_until(lambda: len(fast.sent) == 6)
            assert stalled.sent == []  # still stalled: nobody waited for it
            assert "behind its cohort" in caplog.text  # so it holds no more than it took
            stalled.release()
            await wait_until(lambda: len(stalled.sent) == 6)  # the rest from its own stream
            await payment(alex, account)
            await wait_until(lambda: len(fast.sent) == 7 and len(stalled.sent) == 7)
            await asyncio.sleep(0.1)  # a duplicate, if any, would come now

            assert _cursors(stalled) == _cursors(fast) == await _all_cursors()
        assert len(cohorts) == 0  # the last member out stops the stream


async def test_a_member_whose_send_fails_leaves_and_the_others_carry_on(db: str) -> None:
    await factories.member("billing@example.org", staff=True)
    alex = await factories.member("alex@example.org")
    account = await factories.account(alex)
    cohorts = Cohorts(SCHEMA, queue_size=2)
    healthy, broken = Socket(), Socket(fails=True)
    async with running_hub() as hub:
        context = await _staff_context(hub)
        async with _serving(cohorts, context, [healthy, broken]) as (_, broken_task):
            await wait_until(lambda: len(hub.broker.local) == 1)

            await payment(alex, account)
            with pytest.raises(RuntimeError, match="socket closed"):
                await asyncio.wait_for(broken_task, timeout=5)
            await payment(alex, account)

            await wait_until(lambda: len(healthy.sent) == 2)
            assert healthy.kinds() == ["next", "next"]


@pytest.fixture
def slow_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the outbox takes a while, so events commit while a subscriber catches up."""
    replay = EventStream.replay

    async def slowly(
        self: EventStream, interest: Interest, after: int, upto: int
    ) -> AsyncGenerator[Event, None]:
        async for event in replay(self, interest, after, upto):
            await asyncio.sleep(0.01)
            yield event

    monkeypatch.setattr(EventStream, "replay", slowly)


@pytest.mark.usefixtures("slow_replay")
async def test_resumed_subscribers_catch_up_then_share_the_live_stream_each_event_once(
    db: str,
) -> None:
    """Subscribers resume from cursors old and new while payments commit (also during their
    catch-up): each gets every event after its cursor once, in order, and ends up in the
    one cohort."""
    await factories.member("billing@example.org", staff=True)
    alex = await factories.member("alex@example.org")
    account = await factories.account(alex)
    for _ in range(3):
        await payment(alex, account)
    cohorts = Cohorts(SCHEMA, queue_size=64)
    sockets: list[tuple[Socket, int]] = []
    async with running_hub() as hub, AsyncExitStack() as stack:
        context = await _staff_context(hub)
        live = Socket()
        await stack.enter_async_context(_serving(cohorts, context, [live]))
        await wait_until(lambda: len(hub.broker.local) == 1)

        async def resume_some(count: int) -> None:
            history = await _all_cursors()
            for n in range(count):
                socket = Socket()
                cursor = history[(n * 5) % len(history)] if n % 3 else event_cursor(0)
                sockets.append((socket, parse_event_cursor(cursor)))
                await stack.enter_async_context(_serving(cohorts, context, [socket], after=cursor))
                await asyncio.sleep(0)

        async def pay(count: int) -> None:
            for _ in range(count):
                await payment(alex, account)
                await asyncio.sleep(0.005)

        for _ in range(4):  # rounds: resumers join while payments commit
            await asyncio.gather(resume_some(4), pay(5))

        everything = await _all_cursors()
        await wait_until(
            lambda: all(len(_cursors(s)) >= _expected(everything, a) for s, a in sockets)
        )
        await asyncio.sleep(0.2)  # a duplicate, if any, would come now
        for socket, after in sockets:
            assert _cursors(socket) == [c for c in everything if parse_event_cursor(c) > after]
        assert len(cohorts) == 1
        assert len(hub.broker.local) == 1  # no subscriber kept a stream of its own
        counts = [len(s.sent) + 1 for s, _ in sockets]
        await payment(alex, account)  # and the cohort's stream now serves them all
        await wait_until(lambda: [len(s.sent) for s, _ in sockets] == counts)


def _expected(everything: list[str], after: int) -> int:
    return sum(1 for c in everything if parse_event_cursor(c) > after)


async def test_the_events_of_one_batch_leave_back_to_back_on_each_socket(db: str) -> None:
    await factories.member("billing@example.org", staff=True)
    alex = await factories.member("alex@example.org")
    made = await payment(alex, await factories.account(alex))
    wire: list[tuple[Socket, dict[str, Any]]] = []
    first, second = Socket(wire=wire), Socket(wire=wire)
    async with running_hub() as hub:
        context = await _staff_context(hub)
        async with _serving(Cohorts(SCHEMA, queue_size=2), context, [first, second]):
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
