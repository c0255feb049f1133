"""On the demo data: Jordan's autopay is announced once (and pushed on `reminders`), then charged
once by two schedulers at the same instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from adapters.clock import FixedClock, SystemClock, set_clock
from graph.ids import to_global_id
from models import (
    AutopayCharge,
    AutopayEnrollment,
    Bill,
    Member,
    Notification,
    OutboxEvent,
    Payment,
)
from models.enums import AutopayChargeStatus, AutopayStatus, NotificationKind, PaymentSource
from models.payments import SandboxCharge
from resolvers.autopay_plan import cycle_date
from resolvers.demo import seed_demo
from resolvers.pagination import BY_ID
from tests.e2e.events_support import EVENTS_ENV
from tests.e2e.schedulers import run_schedulers
from tests.e2e.server import ServerProcess
from tests.e2e.ws_client import GraphQLSocket

pytestmark = pytest.mark.e2e

SEED_DAY = date(2026, 11, 2)


async def jordans_next_bill() -> tuple[AutopayEnrollment, Bill]:
    jordan = await Member.get(email="jordan@example.org")
    enrollment = await AutopayEnrollment.get(member_id=jordan.id)
    assert enrollment.status is AutopayStatus.ACTIVE and enrollment.days_before_due == 3
    bill = (
        await Bill.filter(account_id=enrollment.account_id, due_date__gt=SEED_DAY, amount_due__gt=0)
        .order_by("due_date")
        .first()
    )
    assert bill is not None, "the demo gives Jordan an open bill due after the seed day"
    return enrollment, bill


async def test_jordans_autopay_is_announced_once_then_charged_once(db: str) -> None:
    set_clock(FixedClock(datetime.combine(SEED_DAY, time(7), UTC)))
    await seed_demo(today=SEED_DAY)
    enrollment, bill = await jordans_next_bill()
    charge_day = cycle_date(bill.due_date, enrollment.days_before_due)
    three_days_before = datetime.combine(charge_day - timedelta(days=3), time(9), UTC)

    # Three days before the charge: AUTOPAY_UPCOMING, once however often the scheduler runs.
    for _ in range(2):
        (run,) = run_schedulers(db, three_days_before)
        assert run.returncode == 0, run.stderr[-2000:]
    upcoming = await Notification.filter(
        member_id=enrollment.member_id, kind=NotificationKind.AUTOPAY_UPCOMING, bill_id=bill.id
    )
    assert len(upcoming) == 1
    assert "Mastercard" in upcoming[0].message
    assert await OutboxEvent.filter(notification_id=upcoming[0].id).count() == 1
    assert not await Payment.filter(bill_id=bill.id).exists()

    # The charge date, two schedulers at the same instant: one charge.
    at = datetime.combine(charge_day, time(9), UTC)
    finished = run_schedulers(db, at, processes=2)

    assert [f.returncode for f in finished] == [0, 0], [f.stderr[-2000:] for f in finished]
    (payment,) = await Payment.filter(bill_id=bill.id)
    assert payment.source is PaymentSource.AUTOPAY and payment.amount == bill.amount_due
    assert await SandboxCharge.filter(amount=payment.amount, created_at=at).count() == 1
    (charge,) = await AutopayCharge.filter(enrollment_id=enrollment.id, bill_id=bill.id)
    assert (charge.status, charge.cycle_date, charge.payment_id) == (
        AutopayChargeStatus.CHARGED,
        charge_day,
        payment.id,
    )
    assert (await Bill.get(id=bill.id)).amount_due == 0


REMINDERS = """
subscription Reminders($after: String) { reminders(after: $after) { id kind message } }
"""


async def test_jordan_subscribed_to_reminders_receives_the_autopay_notice(db: str) -> None:
    set_clock(FixedClock(datetime.combine(SEED_DAY, time(7), UTC)))
    await seed_demo(today=SEED_DAY)
    enrollment, bill = await jordans_next_bill()
    three_days_before = datetime.combine(
        cycle_date(bill.due_date, enrollment.days_before_due) - timedelta(days=3), time(9), UTC
    )
    latest = await Notification.filter(member_id=enrollment.member_id).order_by("-id").first()
    # From the newest notification Jordan has: nothing sent after it can be missed.
    after = None if latest is None else BY_ID.cursor(latest)

    set_clock(SystemClock())  # the server checks the token against the real clock
    with ServerProcess(db, migrate=False, env=EVENTS_ENV) as server:
        token = server.token("jordan@example.org")
        async with GraphQLSocket.open(server.ws_url, token=token) as jordan:
            await jordan.subscribe("reminders", REMINDERS, {"after": after})
            (run,) = run_schedulers(db, three_days_before)
            assert run.returncode == 0, run.stderr[-2000:]
            sent = await Notification.filter(
                member_id=enrollment.member_id, id__gt=latest.id if latest else 0
            ).order_by("id")
            received = [
                (await jordan.next_payload("reminders", within=10))["data"]["reminders"]
                for _ in sent
            ]
            (again,) = run_schedulers(db, three_days_before)
            assert again.returncode == 0
            with pytest.raises(TimeoutError):
                await jordan.receive(within=1)

    assert [r["id"] for r in received] == [to_global_id("Notification", n.id) for n in sent]
    upcoming = [r for r in received if r["kind"] == "AUTOPAY_UPCOMING"]
    assert len(upcoming) == 1 and "Mastercard" in upcoming[0]["message"]
