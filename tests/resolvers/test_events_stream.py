"""A subscriber's stream: replay merged with live, gaps healed from the outbox, slow readers."""

from __future__ import annotations

import asyncio

from tortoise.transactions import in_transaction

from adapters.broker import Batch, InProcessBroker
from models.enums import AccessRole, PaymentEventType
from resolvers.event_log import read_after
from resolvers.event_stream import EventStream, Interest
from resolvers.events import PAYMENTS_TOPIC, payment_of
from resolvers.outbox import record_event
from tests import factories
from tests.event_helpers import nothing_more, payment, running_hub, take, wait_until
from tests.graph.client import count_statements

STAFF = Interest(PAYMENTS_TOPIC)


async def _record(count: int, *, account_id: int | None = None) -> list[int]:
    ids = []
    for n in range(count):
        row = await record_event(
            topic=PAYMENTS_TOPIC,
            type="PAYMENT_SUCCEEDED",
            account_id=account_id,
            payload={"status": "SUCCEEDED", "n": n},
        )
        ids.append(int(row.id))
    return ids


async def test_replay_while_events_commit_delivers_each_exactly_once_in_order(db: str) -> None:
    alex = await factories.member()
    mine = await factories.account(alex)
    theirs = await factories.account(await factories.member())
    before = await _record(120, account_id=mine.id)
    await _record(40, account_id=theirs.id)

    async with running_hub() as hub:
        hub.stream.page_size = 25  # many small replay pages, each racing the writer
        stream = hub.stream.follow(Interest(PAYMENTS_TOPIC, reader_id=alex.id), after=0)

        async def writer() -> list[int]:
            written = []
            for _ in range(60):
                written += await _record(1, account_id=mine.id)
                await _record(1, account_id=theirs.id)
            return written

        writing = asyncio.ensure_future(writer())
        received = [event.id for event in await take(stream, 120 + 60, within=30)]
        during = await writing

        assert received == before + during
        await nothing_more(stream)
        await stream.aclose()


async def test_a_slow_subscriber_neither_delays_the_others_nor_grows_without_bound(
    db: str,
) -> None:
    async with running_hub(queue_size=4) as hub:
        slow = hub.stream.follow(STAFF, after=None)
        fast = hub.stream.follow(STAFF, after=None)
        slow_first = asyncio.ensure_future(anext(slow))
        fast_first = asyncio.ensure_future(anext(fast))
        await wait_until(lambda: len(hub.broker.local) == 2)

        written: list[int] = []
        fast_seen: list[int] = []
        for _ in range(40):
            written += await _record(1)
            # The fast reader sees each event while the slow one reads nothing.
            if not fast_seen:
                fast_seen.append((await asyncio.wait_for(fast_first, 5)).id)
            else:
                fast_seen += [e.id for e in await take(fast, 1, within=2)]
            for subscription in hub.broker.local.subscriptions():
                assert subscription.queued <= 4
        assert fast_seen == written
        assert any(s.overflows for s in hub.broker.local.subscriptions())

        # Once it reads again, the slow one catches up from the outbox: all, once, in order.
        slow_seen = [(await asyncio.wait_for(slow_first, 5)).id]
        slow_seen += [e.id for e in await take(slow, 39)]
        assert slow_seen == written
        await nothing_more(slow)
        await slow.aclose()
        await fast.aclose()


async def test_a_lost_batch_is_noticed_and_read_from_the_outbox(db: str) -> None:
    broker = InProcessBroker()  # no relay: the test publishes by hand
    stream = EventStream(broker, queue_size=8).follow(STAFF, after=None)
    first = asyncio.ensure_future(anext(stream))
    await wait_until(lambda: len(broker.local) == 1)

    ids = await _record(3)
    events = await read_after(ids[0] - 1, limit=10)
    # The batch with the first two rows never arrives; the next one shows the hole.
    await broker.publish(Batch(after=ids[1], last=ids[2], events=tuple(events[2:])))

    received = [(await asyncio.wait_for(first, 5)).id, *[e.id for e in await take(stream, 2)]]
    assert received == ids
    await broker.publish(Batch(after=ids[0] - 1, last=ids[2], events=tuple(events)))  # stale
    await nothing_more(stream)
    await stream.aclose()


async def test_a_batch_costs_one_access_query_and_one_payment_query_for_all_its_subscribers(
    db: str,
) -> None:
    alex = await factories.member("alex@example.org")
    sam = await factories.member("sam@example.org")
    account = await factories.account(alex)
    await factories.grant(sam, account, AccessRole.PROXY_PAY)
    made = await payment(alex, account)  # its own event is history before anyone subscribes
    async with running_hub() as hub:
        streams = [
            hub.stream.follow(Interest(PAYMENTS_TOPIC, reader_id=m.id), after=None)
            for m in (alex, sam, alex)
        ]
        firsts = [asyncio.ensure_future(anext(s)) for s in streams]
        await wait_until(lambda: len(hub.broker.local) == 3)

        with count_statements() as statements:
            async with in_transaction() as conn:  # two events, one batch
                for kind in (PaymentEventType.PAYMENT_REFUNDED, PaymentEventType.PAYMENT_RETURNED):
                    await record_event(
                        topic=PAYMENTS_TOPIC,
                        type=kind.value,
                        account_id=account.id,
                        member_id=alex.id,
                        payment_id=made.id,
                        using_db=conn,
                    )
            received = [await asyncio.wait_for(first, 5) for first in firsts]
            received += [event for s in streams for event in await take(s, 1)]
            rows = [await payment_of(hub, event) for event in received]

        assert (
            sorted(e.type for e in received) == ["PAYMENT_REFUNDED"] * 3 + ["PAYMENT_RETURNED"] * 3
        )
        assert {row.id for row in rows if row is not None} == {made.id} and None not in rows
        assert len([q for q in statements if "account_access" in q]) == 1
        assert len([q for q in statements if 'FROM "payment"' in q]) == 1
        for stream in streams:
            await stream.aclose()
