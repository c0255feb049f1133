"""Subscriptions through the schema (`schema.subscribe`): who receives what, errors, resume."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from strawberry.types import ExecutionResult

from graph.context import Context
from graph.ids import to_global_id
from models import AccountAccess, Notification
from models.enums import AccessRole, NotificationKind, Role
from resolvers.access import load_viewer
from resolvers.event_log import event_cursor, last_id
from resolvers.events import AHEAD_MESSAGE, EventHub
from tests import factories
from tests.event_helpers import (
    nothing_more,
    notification_event,
    payment,
    running_hub,
    take,
    wait_until,
)
from tests.graph.client import SCHEMA, SETTINGS

PAYMENT_EVENTS = """
subscription Events($accountId: ID, $after: String) {
  paymentEvents(accountId: $accountId, after: $after) {
    cursor type status occurredAt
    payment { id status amount { amount } confirmationNumber bill { amountDue { amount } } }
  }
}
"""
STATUS_FEED = """
subscription Feed($after: String) {
  paymentStatusFeed(after: $after) { cursor type payment { id account { accountNumber } } }
}
"""
REMINDERS = """
subscription Reminders($after: String) {
  reminders(after: $after) { id cursor kind message amount { amount } }
}
"""


@asynccontextmanager
async def subscribed(
    hub: EventHub,
    document: str,
    *,
    as_email: str,
    staff: bool = False,
    variables: dict[str, Any] | None = None,
    live: bool = True,
) -> AsyncIterator[AsyncGenerator[ExecutionResult, None]]:
    """A running subscription; with `live`, returns once it listens on the broker."""
    viewer = await load_viewer(as_email, (Role.STAFF if staff else Role.MEMBER).value)
    context = Context(settings=SETTINGS, viewer=viewer, events=hub)
    before = len(hub.broker.local)
    stream = await SCHEMA.subscribe(document, variable_values=variables, context_value=context)
    assert isinstance(stream, AsyncGenerator)
    first = None
    if live:
        # The stream registers when first awaited: start it, then wait until it listens.
        first = asyncio.ensure_future(anext(stream))
        await wait_until(lambda: len(hub.broker.local) > before or first.done())
    try:
        yield _resume(first, stream) if first is not None else stream
    finally:
        if first is not None and not first.done():
            first.cancel()
        await stream.aclose()


async def _resume(first: Any, stream: AsyncGenerator[ExecutionResult, None]) -> Any:
    yield await first
    async for item in stream:
        yield item


def data(result: ExecutionResult) -> dict[str, Any]:
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def _household() -> dict[str, Any]:
    alex = await factories.member("alex@example.org", name="Alex Rivera")
    jordan = await factories.member("jordan@example.org", name="Jordan Lee")
    sam = await factories.member("sam@example.org", name="Sam Rivera")
    await factories.member("billing@example.org", staff=True)
    alex_account = await factories.account(alex)
    await factories.grant(sam, alex_account, AccessRole.PROXY_PAY)
    jordan_account = await factories.account(jordan)
    return {
        "alex": alex,
        "jordan": jordan,
        "sam": sam,
        "alex_account": alex_account,
        "jordan_account": jordan_account,
    }


async def test_a_member_receives_their_own_payment_events_and_nothing_of_others(db: str) -> None:
    h = await _household()
    async with (
        running_hub() as hub,
        subscribed(hub, PAYMENT_EVENTS, as_email="alex@example.org") as alex_stream,
    ):
        await payment(h["jordan"], h["jordan_account"], amount=7100)
        mine = await payment(h["alex"], h["alex_account"], amount=4200)

        [result] = await take(alex_stream, 1)
        event = data(result)["paymentEvents"]
        assert event["type"] == "PAYMENT_SUCCEEDED"
        assert event["status"] == "SUCCEEDED"
        assert event["payment"]["id"] == to_global_id("Payment", mine.id)
        assert event["payment"]["amount"]["amount"] == "42.00"
        assert event["payment"]["confirmationNumber"] == mine.confirmation_number
        await nothing_more(alex_stream)


async def test_a_proxy_whose_access_is_revoked_stops_receiving_the_accounts_events(
    db: str,
) -> None:
    h = await _household()
    async with (
        running_hub() as hub,
        subscribed(hub, PAYMENT_EVENTS, as_email="sam@example.org") as sam_stream,
        subscribed(hub, PAYMENT_EVENTS, as_email="alex@example.org") as alex_stream,
    ):
        first = await payment(h["alex"], h["alex_account"])
        [seen] = await take(sam_stream, 1)
        assert data(seen)["paymentEvents"]["payment"]["id"] == to_global_id("Payment", first.id)

        await AccountAccess.filter(member_id=h["sam"].id).update(
            revoked_at=datetime(2026, 11, 20, tzinfo=UTC)
        )
        second = await payment(h["alex"], h["alex_account"])

        alex_seen = [data(r)["paymentEvents"]["payment"]["id"] for r in await take(alex_stream, 2)]
        assert alex_seen == [to_global_id("Payment", p.id) for p in (first, second)]
        await nothing_more(sam_stream)


async def test_one_account_only_and_an_account_not_yours_answers_as_not_found(db: str) -> None:
    h = await _household()
    second_account = await factories.account(h["alex"])
    only = {"accountId": to_global_id("BillingAccount", second_account.id)}
    theirs = {"accountId": to_global_id("BillingAccount", h["jordan_account"].id)}
    async with running_hub() as hub:
        async with subscribed(
            hub, PAYMENT_EVENTS, as_email="alex@example.org", variables=theirs, live=False
        ) as refused:
            [result] = await take(refused, 1)
            assert result.data is None
            assert result.errors is not None
            assert result.errors[0].extensions == {"code": "NOT_FOUND"}

        async with subscribed(
            hub, PAYMENT_EVENTS, as_email="alex@example.org", variables=only
        ) as stream:
            await payment(h["alex"], h["alex_account"])
            wanted = await payment(h["alex"], second_account)
            [result] = await take(stream, 1)
            assert data(result)["paymentEvents"]["payment"]["id"] == to_global_id(
                "Payment", wanted.id
            )


async def test_the_status_feed_is_for_staff_only(db: str) -> None:
    h = await _household()
    async with running_hub() as hub:
        async with subscribed(hub, STATUS_FEED, as_email="alex@example.org", live=False) as alex:
            [result] = await take(alex, 1)
            assert result.data is None
            assert result.errors is not None
            assert result.errors[0].extensions == {"code": "FORBIDDEN"}
            assert len(hub.broker.local) == 0

        async with subscribed(hub, STATUS_FEED, as_email="billing@example.org", staff=True) as feed:
            made = [
                await payment(h["jordan"], h["jordan_account"]),
                await payment(h["alex"], h["alex_account"]),
            ]
            results = await take(feed, 2)
            ids = [data(r)["paymentStatusFeed"]["payment"]["id"] for r in results]
            assert ids == [to_global_id("Payment", p.id) for p in made]


async def test_resume_after_a_cursor_replays_what_followed_then_continues_live(db: str) -> None:
    h = await _household()
    async with running_hub() as hub:
        async with subscribed(hub, PAYMENT_EVENTS, as_email="alex@example.org") as stream:
            made = [await payment(h["alex"], h["alex_account"], amount=1000 + n) for n in range(3)]
            cursors = [data(r)["paymentEvents"]["cursor"] for r in await take(stream, 3)]
        while_away = await payment(h["alex"], h["alex_account"])

        async with subscribed(
            hub, PAYMENT_EVENTS, as_email="alex@example.org", variables={"after": cursors[0]}
        ) as resumed:
            replayed = await take(resumed, 3)
            live = await payment(h["alex"], h["alex_account"])
            replayed += await take(resumed, 1)
            ids = [data(r)["paymentEvents"]["payment"]["id"] for r in replayed]
            expected = [*made[1:], while_away, live]
            assert ids == [to_global_id("Payment", p.id) for p in expected]
            await nothing_more(resumed)

        # Without `after` a stream starts now: nothing of the past replays.
        async with subscribed(hub, PAYMENT_EVENTS, as_email="alex@example.org") as fresh:
            await nothing_more(fresh)


async def test_a_bad_cursor_is_a_bad_user_input_error(db: str) -> None:
    await _household()
    async with (
        running_hub() as hub,
        subscribed(
            hub,
            PAYMENT_EVENTS,
            as_email="alex@example.org",
            variables={"after": "not-a-cursor"},
            live=False,
        ) as stream,
    ):
        [result] = await take(stream, 1)
        assert result.errors is not None
        assert result.errors[0].extensions == {"code": "BAD_USER_INPUT"}


@pytest.mark.parametrize("document", [PAYMENT_EVENTS, STATUS_FEED])
async def test_a_cursor_ahead_of_the_newest_event_is_refused_not_followed_in_silence(
    db: str, document: str
) -> None:
    await _household()
    ahead = event_cursor(await last_id() + 1)  # a cursor of another database
    async with (
        running_hub() as hub,
        subscribed(
            hub,
            document,
            as_email="billing@example.org",
            staff=True,
            variables={"after": ahead},
            live=False,
        ) as stream,
    ):
        [result] = await take(stream, 1)
    assert result.errors is not None
    assert result.errors[0].message == AHEAD_MESSAGE
    assert result.errors[0].extensions == {"code": "BAD_USER_INPUT"}


async def test_reminders_deliver_the_members_own_notifications_and_resume_by_cursor(
    db: str,
) -> None:
    h = await _household()

    async def notify(member: Any, message: str) -> Notification:
        row = await Notification.create(
            member=member,
            kind=NotificationKind.BILL_DUE_SOON,
            message=message,
            amount=2500,
            created_at=datetime(2026, 11, 20, tzinfo=UTC),
        )
        await notification_event(member.id, row.id)
        return row

    async with running_hub() as hub:
        async with subscribed(hub, REMINDERS, as_email="alex@example.org") as stream:
            await notify(h["jordan"], "Jordan's bill is due soon")
            first = await notify(h["alex"], "Your bill is due in 7 days")
            [result] = await take(stream, 1)
            got = data(result)["reminders"]
            assert got["id"] == to_global_id("Notification", first.id)
            assert got["kind"] == "BILL_DUE_SOON"
            assert got["amount"] == {"amount": "25.00"}
            cursor = got["cursor"]

        missed = [await notify(h["alex"], f"Reminder {n}") for n in range(3)]
        async with subscribed(
            hub, REMINDERS, as_email="alex@example.org", variables={"after": cursor}
        ) as resumed:
            results = await take(resumed, 3)
            ids = [data(r)["reminders"]["id"] for r in results]
            assert ids == [to_global_id("Notification", n.id) for n in missed]
            await nothing_more(resumed)
