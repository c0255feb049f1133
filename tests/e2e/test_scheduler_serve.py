"""`carepay serve` runs the scheduler loop: a real server charges autopay on the real clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from models import AutopayCharge, Notification, Payment
from models.enums import AutopayChargeStatus, NotificationKind, PaymentSource
from tests import factories
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.e2e


async def eventually(check: Callable[[], Awaitable[bool]], *, tries: int = 600) -> None:
    """Poll the database until the predicate holds: at most `tries` times, 50 ms apart."""
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the server's scheduler did not get there in time")


async def test_the_server_scheduler_charges_a_bill_due_today_once(db: str) -> None:
    today = datetime.now(UTC).date()
    jordan = await factories.member("jordan@example.org")
    acct = await factories.account(jordan)
    card = await factories.card(jordan, token="tok_mastercard")
    # Charged 7 days before it is due, moved to a business day: today at the latest.
    await factories.autopay(jordan, acct, card, days_before_due=7)
    bill = await factories.bill(acct, due=4_200, due_date=today, statement_date=today)
    env = {"CAREPAY_SCHEDULER_ENABLED": "1", "CAREPAY_SCHEDULER_INTERVAL": "3600"}

    with ServerProcess(db, migrate=False, workers=2, env=env) as server:

        async def charged() -> bool:
            return await AutopayCharge.filter(
                bill_id=bill.id, status=AutopayChargeStatus.CHARGED
            ).exists()

        async def reminded() -> bool:
            kind = NotificationKind.STATEMENT_AVAILABLE
            return await Notification.filter(bill_id=bill.id, kind=kind).exists()

        await eventually(charged)
        await eventually(reminded)
    assert "Traceback" not in server.log()

    (payment,) = await Payment.filter(bill_id=bill.id)
    assert (payment.amount, payment.source) == (4_200, PaymentSource.AUTOPAY)
    assert payment.created_at > datetime.now(UTC) - timedelta(minutes=5)
    kinds = NotificationKind.STATEMENT_AVAILABLE
    assert await Notification.filter(bill_id=bill.id, kind=kinds).count() == 1
