"""Resumed subscriptions hand over to their cohort, and members leave a failed cohort,
without losing or repeating an event.

A subscriber resumed with `after` catches up on a stream of its own, then takes the
cohort's events from where the cohort stood when it joined. Members of a cohort whose
stream fails (at its start or midway) go on alone from the last event each took.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack, aclosing

import pytest

import graph.cohorts
from adapters.broker import Event
from graph.cohorts import Cohorts
from models.people import BillingAccount, Member
from resolvers.event_log import event_cursor, parse_event_cursor
from resolvers.event_stream import EventStream, Interest, Window
from tests import factories
from tests.event_helpers import payment, running_hub, wait_until
from tests.graph.client import SCHEMA
from tests.graph.cohort_support import (
    EVENTS,
    FEED,
    Socket,
    all_cursors,
    context_of,
    cursors,
    serving,
    staff_context,
)


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


async def _household() -> tuple[Member, BillingAccount, Member, BillingAccount]:
    await factories.member("billing@example.org", staff=True)
    alex = await factories.member("alex@example.org")
    jordan = await factories.member("jordan@example.org")
    return alex, await factories.account(alex), jordan, await factories.account(jordan)


def _after(cursor_list: list[str], after: int) -> list[str]:
    return [c for c in cursor_list if parse_event_cursor(c) > after]


@pytest.mark.usefixtures("slow_replay")
@pytest.mark.parametrize("viewer", ["staff, cohort already live", "member, resumers only"])
async def test_resumed_subscribers_catch_up_then_share_the_live_stream_each_event_once(
    db: str, viewer: str
) -> None:
    """Subscribers resume from cursors old and new while payments commit (also during their
    catch-up): each gets every event after its cursor that it may see, once, in order, and
    ends up in the one cohort."""
    alex, alex_account, jordan, jordan_account = await _household()
    staff = viewer.startswith("staff")
    for _ in range(2):
        await payment(alex, alex_account)
        await payment(jordan, jordan_account)
    cohorts = Cohorts(SCHEMA, queue_size=64)
    sockets: list[tuple[Socket, int]] = []
    async with running_hub() as hub, AsyncExitStack() as stack:
        context = await (staff_context(hub) if staff else context_of(hub, "alex@example.org"))
        query = FEED if staff else EVENTS
        if staff:
            await stack.enter_async_context(serving(cohorts, context, [Socket()]))
            await wait_until(lambda: len(hub.broker.local) == 1)

        async def resume_some(count: int) -> None:
            history = await all_cursors()
            for n in range(count):
                socket = Socket()
                cursor = history[(n * 5) % len(history)] if n % 3 else event_cursor(0)
                sockets.append((socket, parse_event_cursor(cursor)))
                await stack.enter_async_context(
                    serving(cohorts, context, [socket], after=cursor, query=query)
                )
                await asyncio.sleep(0)

        async def pay(count: int) -> None:
            for n in range(count):
                await payment(*((alex, alex_account) if n % 2 else (jordan, jordan_account)))
                await asyncio.sleep(0.005)

        for _ in range(4):  # rounds: resumers join while payments commit
            await asyncio.gather(resume_some(4), pay(6))

        visible = await all_cursors(None if staff else alex_account.id)
        await wait_until(lambda: all(len(s.sent) >= len(_after(visible, a)) for s, a in sockets))
        await asyncio.sleep(0.2)  # a duplicate, if any, would come now
        for socket, after in sockets:
            assert cursors(socket) == _after(visible, after)
        assert len(cohorts) == 1
        assert len(hub.broker.local) == 1  # no subscriber kept a stream of its own
        counts = [len(s.sent) + 1 for s, _ in sockets]
        await payment(alex, alex_account)  # and the cohort's stream now serves them all
        await wait_until(lambda: [len(s.sent) for s, _ in sockets] == counts)


async def test_a_cohort_that_cannot_open_leaves_its_members_to_go_on_alone(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alex, account, _, _ = await _household()
    for _ in range(3):
        await payment(alex, account)
    real_last_id = graph.cohorts.last_id
    calls = 0

    async def fails_first() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("the database went away")
        return await real_last_id()

    monkeypatch.setattr(graph.cohorts, "last_id", fails_first)
    cohorts = Cohorts(SCHEMA, queue_size=64)
    resumed, live = Socket(), Socket()
    async with running_hub() as hub:
        context = await staff_context(hub)
        async with (
            serving(cohorts, context, [resumed], after=event_cursor(0)),
            serving(cohorts, context, [live]),
        ):
            await wait_until(lambda: len(hub.broker.local) == 2)  # a stream each, alone
            assert len(cohorts) == 0
            for _ in range(2):
                await payment(alex, account)
            everything = await all_cursors()
            await wait_until(lambda: len(resumed.sent) == 5 and len(live.sent) == 2)
            await asyncio.sleep(0.2)  # a duplicate, if any, would come now

    assert cursors(resumed) == everything  # no `complete`, and nothing missed
    assert cursors(live) == everything[3:]


async def test_when_a_cohorts_stream_fails_midway_its_members_go_on_alone_each_event_once(
    db: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    alex, account, _, _ = await _household()
    for _ in range(2):
        await payment(alex, account)
    within = EventStream.within
    failed = False

    async def first_live_stream_fails(
        self: EventStream, interest: Interest, *, after: int | None, window: Window
    ) -> AsyncGenerator[Event, None]:
        nonlocal failed
        source = within(self, interest, after=after, window=window)
        fails, failed = not failed and window.until is None, failed or window.until is None
        async with aclosing(source):
            taken = 0
            async for event in source:
                yield event
                taken += 1
                if fails and taken == 2:
                    raise ConnectionError("the broker went away")

    monkeypatch.setattr(EventStream, "within", first_live_stream_fails)
    cohorts = Cohorts(SCHEMA, queue_size=64)
    live, resumed = Socket(), Socket()
    async with running_hub() as hub:
        context = await staff_context(hub)
        async with serving(cohorts, context, [live]):
            await wait_until(lambda: len(hub.broker.local) == 1)
            async with serving(cohorts, context, [resumed], after=event_cursor(0)):
                await wait_until(lambda: len(resumed.sent) == 2)  # caught up, then joined
                for _ in range(5):
                    await payment(alex, account)
                    await asyncio.sleep(0.02)
                everything = await all_cursors()
                await wait_until(lambda: len(resumed.sent) == 7 and len(live.sent) == 5)
                await asyncio.sleep(0.2)  # a duplicate, if any, would come now
                assert len(cohorts) == 0 and len(hub.broker.local) == 2  # alone now

    assert "a cohort's stream failed" in caplog.text
    assert cursors(resumed) == everything  # no error frame, nothing missed or repeated
    assert cursors(live) == everything[2:]


@pytest.mark.usefixtures("slow_replay")
async def test_a_subscriber_gone_during_its_catch_up_leaves_nothing_running(db: str) -> None:
    alex, account, _, _ = await _household()
    for _ in range(20):
        await payment(alex, account)
    cohorts = Cohorts(SCHEMA, queue_size=64)
    socket = Socket()
    async with running_hub() as hub:
        context = await staff_context(hub)
        async with serving(cohorts, context, [socket], after=event_cursor(0)):
            await wait_until(lambda: len(socket.sent) == 3)  # mid catch-up
        assert len(cohorts) == 0
        await wait_until(lambda: len(hub.broker.local) == 0)


async def test_a_live_member_whose_new_cohort_fails_before_its_first_event_misses_nothing(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The member that starts a cohort joins before it opens; if the stream then fails on its
    first event, the member goes on alone from where the cohort opened, not from 'now'."""
    alex, account, _, _ = await _household()
    await payment(alex, account)
    allowed = EventStream.allowed
    calls = 0

    async def fails_once(self: EventStream, interest: Interest, event: Event) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:  # the cohort's access check of its first live event
            raise ConnectionError("the database went away")
        return await allowed(self, interest, event)

    monkeypatch.setattr(EventStream, "allowed", fails_once)
    cohorts = Cohorts(SCHEMA, queue_size=64)
    live = Socket()
    async with running_hub() as hub:
        context = await staff_context(hub)
        async with serving(cohorts, context, [live]):
            await wait_until(lambda: len(hub.broker.local) == 1)  # the cohort is following
            before = len(await all_cursors())
            await payment(alex, account)
            await wait_until(lambda: len(cohorts) == 0)  # its stream failed on that event
            await wait_until(lambda: len(hub.broker.local) == 1)  # the member, alone
            await payment(alex, account)
            everything = await all_cursors()
            await wait_until(lambda: len(live.sent) >= len(everything) - before)
            await asyncio.sleep(0.2)  # a duplicate, if any, would come now

    assert cursors(live) == everything[before:]


async def test_a_catch_up_that_fails_midway_goes_on_alone_from_its_last_event(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alex, account, _, _ = await _household()
    within = EventStream.within

    async def catch_up_fails_after_one(
        self: EventStream, interest: Interest, *, after: int | None, window: Window
    ) -> AsyncGenerator[Event, None]:
        async with aclosing(within(self, interest, after=after, window=window)) as source:
            async for event in source:
                yield event
                if window.until is not None:
                    raise ConnectionError("the database went away")

    monkeypatch.setattr(EventStream, "within", catch_up_fails_after_one)
    cohorts = Cohorts(SCHEMA, queue_size=64)
    live, resumed = Socket(), Socket()
    async with running_hub() as hub:
        context = await staff_context(hub)
        async with serving(cohorts, context, [live]):
            await wait_until(lambda: len(hub.broker.local) == 1)
            for _ in range(4):
                await payment(alex, account)
            await wait_until(lambda: len(live.sent) == 4)
            async with serving(cohorts, context, [resumed], after=event_cursor(0)):
                await wait_until(lambda: len(resumed.sent) == 4)  # 1 caught up, 2-4 alone
                await payment(alex, account)
                everything = await all_cursors()
                await wait_until(lambda: len(resumed.sent) == 5)
                await asyncio.sleep(0.2)  # a duplicate, if any, would come now

    assert cursors(resumed) == everything  # no error frame, no gap
