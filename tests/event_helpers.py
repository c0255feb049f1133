"""Helpers for event tests: a running hub, waiting on conditions, taking stream items in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from adapters.broker import Broker, InProcessBroker
from adapters.clock import now
from models import Payment
from models.enums import PaymentEventType, PaymentKind, PaymentSource, PaymentStatus
from models.people import BillingAccount, Member
from resolvers.events import NOTIFICATIONS_TOPIC, PAYMENTS_TOPIC, EventHub
from resolvers.outbox import record_event
from tests import factories

T = TypeVar("T")


@asynccontextmanager
async def running_hub(
    broker: Broker | None = None, *, queue_size: int = 64, interval: float = 0.01
) -> AsyncIterator[EventHub]:
    """An event hub with its relay running (in-process broker unless one is given)."""
    hub = EventHub(broker or InProcessBroker(), queue_size=queue_size, relay_interval=interval)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()


async def wait_until(condition: Callable[[], bool], *, within: float = 5.0) -> None:
    """Return once `condition()` holds; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.005)


async def take(stream: AsyncIterator[T], count: int, *, within: float = 5.0) -> list[T]:
    """The next `count` items of a stream, failing if they do not come `within` seconds."""
    items: list[T] = []
    async with asyncio.timeout(within):
        while len(items) < count:
            items.append(await anext(stream))
    return items


async def nothing_more(stream: AsyncIterator[Any], *, within: float = 0.3) -> None:
    """Assert the stream yields nothing for `within` seconds."""
    try:
        async with asyncio.timeout(within):
            item = await anext(stream)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected item {item!r}")


async def payment(member: Member, account: BillingAccount, *, amount: int = 5000) -> Payment:
    """A succeeded card payment row with its PAYMENT_SUCCEEDED outbox event."""
    bill = await factories.bill(account, due=amount)
    made = await Payment.create(
        bill=bill,
        account=account,
        member=member,
        amount=amount,
        currency="USD",
        kind=PaymentKind.CARD,
        source=PaymentSource.ONE_TIME,
        status=PaymentStatus.SUCCEEDED,
        processor_idempotency_key=f"pay-{bill.id}",
        confirmation_number=f"CP-{bill.id:07d}-TEST",
        created_at=now(),
        updated_at=now(),
    )
    await payment_event(made)
    return made


async def payment_event(
    made: Payment, kind: PaymentEventType = PaymentEventType.PAYMENT_SUCCEEDED
) -> int:
    """Record a payment event in the outbox; its id."""
    row = await record_event(
        topic=PAYMENTS_TOPIC,
        type=kind.value,
        account_id=made.account_id,
        member_id=made.member_id,
        payment_id=made.id,
        payload={"status": made.status.value, "amount": made.amount, "currency": "USD"},
    )
    return int(row.id)


async def notification_event(member_id: int, notification_id: int) -> int:
    """Record a NOTIFICATION_CREATED event in the outbox; its id."""
    row = await record_event(
        topic=NOTIFICATIONS_TOPIC,
        type="NOTIFICATION_CREATED",
        member_id=member_id,
        notification_id=notification_id,
    )
    return int(row.id)
