"""Cohorts: payment subscriptions of one viewer and document share a stream; each member's
socket gets every frame in order, at once while it keeps up. A stalled one leaves the
cohort without holding up the others and, reading again, gets every event once from a
stream of its own. A resumed one catches up by itself, then joins."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from graph.cohorts import Cohorts, Member
from models.enums import PaymentEventType
from resolvers.events import PAYMENTS_TOPIC
from resolvers.outbox import record_event
from tests import factories
from tests.event_helpers import payment, running_hub, wait_until
from tests.graph.client import SCHEMA
from tests.graph.cohort_support import Socket, all_cursors, cursors, serving, staff_context


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


async def test_a_stalled_member_leaves_without_delaying_the_others_and_then_gets_every_event_once(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    await factories.member("billing@example.org", staff=True)
    alex = await factories.member("alex@example.org")
    account = await factories.account(alex)
    cohorts = Cohorts(SCHEMA, queue_size=2)
    fast, stalled = Socket(), Socket()
    async with running_hub() as hub:
        context = await staff_context(hub)
        async with serving(cohorts, context, [fast, stalled]):
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

            assert cursors(stalled) == cursors(fast) == await all_cursors()
        assert len(cohorts) == 0  # the last member out stops the stream


async def test_a_member_whose_send_fails_leaves_and_the_others_carry_on(db: str) -> None:
    await factories.member("billing@example.org", staff=True)
    alex = await factories.member("alex@example.org")
    account = await factories.account(alex)
    cohorts = Cohorts(SCHEMA, queue_size=2)
    healthy, broken = Socket(), Socket(fails=True)
    async with running_hub() as hub:
        context = await staff_context(hub)
        async with serving(cohorts, context, [healthy, broken]) as (_, broken_task):
            await wait_until(lambda: len(hub.broker.local) == 1)

            await payment(alex, account)
            with pytest.raises(RuntimeError, match="socket closed"):
                await asyncio.wait_for(broken_task, timeout=5)
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
        context = await staff_context(hub)
        async with serving(Cohorts(SCHEMA, queue_size=2), context, [first, second]):
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
