"""Exactly once across processes: four schedulers at once, and a scheduler killed mid-run."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from models import AutopayCharge, Notification, OutboxEvent, Payment
from models.enums import AccessRole, AutopayChargeStatus, NotificationKind, PaymentStatus
from models.payments import SandboxCharge
from tests import factories
from tests.e2e.scheduler_worker import CRASH_EXIT
from tests.e2e.schedulers import count, run_schedulers
from tests.ledger import assert_ledger

pytestmark = pytest.mark.e2e

DUE = date(2026, 12, 10)  # autopay 3 days before: Monday December 7
CHARGE_AT = datetime.combine(date(2026, 12, 7), time(9), UTC)
ENROLLMENTS = 6


async def enrolled_household(n: int = ENROLLMENTS) -> list[int]:
    """`n` accounts on autopay, each with a bill due on DUE and a proxy payer; the bill ids."""
    bills = []
    for _ in range(n):
        holder = await factories.member()
        acct = await factories.account(holder)
        await factories.grant(await factories.member(), acct, AccessRole.PROXY_PAY)
        await factories.autopay(holder, acct, await factories.card(holder, token="tok_mastercard"))
        bill = await factories.bill(
            acct, due=11_000, due_date=DUE, statement_date=date(2026, 12, 7)
        )
        bills.append(bill.id)
    return bills


async def assert_charged_once(bills: list[int]) -> None:
    payments = await Payment.all()
    assert sorted(p.bill_id for p in payments) == sorted(bills)
    assert {p.status for p in payments} == {PaymentStatus.SUCCEEDED}
    assert await SandboxCharge.all().count() == len(bills)
    charges = await AutopayCharge.all()
    assert len(charges) == len(bills)
    assert {c.status for c in charges} == {AutopayChargeStatus.CHARGED}
    assert sorted(c.payment_id or 0 for c in charges) == sorted(p.id for p in payments)
    await assert_ledger()


async def assert_reminded_once(bills: list[int]) -> None:
    """Each bill: AUTOPAY_UPCOMING to its enrolled member; STATEMENT_AVAILABLE to both payers."""
    kinds = [NotificationKind.AUTOPAY_UPCOMING, NotificationKind.STATEMENT_AVAILABLE]
    reminders = await Notification.filter(kind__in=kinds)
    upcoming = [n.bill_id for n in reminders if n.kind is NotificationKind.AUTOPAY_UPCOMING]
    statements = [n.bill_id for n in reminders if n.kind is NotificationKind.STATEMENT_AVAILABLE]
    assert sorted(upcoming) == sorted(bills)
    assert sorted(statements) == sorted(bills * 2)
    events = await OutboxEvent.filter(topic="notifications").values_list("notification_id")
    notified = {int(row[0]) for row in events}
    assert {n.id for n in reminders} <= notified


async def test_four_schedulers_at_once_charge_and_remind_exactly_once(db: str) -> None:
    bills = await enrolled_household()

    finished = run_schedulers(db, CHARGE_AT, processes=4)

    assert [f.returncode for f in finished] == [0] * 4, [f.stderr[-2000:] for f in finished]
    assert all("locked" not in f.stderr for f in finished)
    await assert_charged_once(bills)
    await assert_reminded_once(bills)
    # What the processes say they did adds up to what was done: nobody counted a duplicate.
    assert count(finished, "autopay:", "charged") == len(bills)
    expected_reminders = await Notification.exclude(kind=NotificationKind.PAYMENT_CONFIRMATION)
    assert count(finished, "reminders:", "sent") == len(expected_reminders)


@pytest.mark.parametrize("point", ["claimed", "reserved", "processor", "paid", "reminder:4"])
async def test_a_scheduler_killed_mid_run_and_run_again_skips_and_doubles_nothing(
    db: str, point: str
) -> None:
    bills = await enrolled_household(3)

    (crashed,) = run_schedulers(db, CHARGE_AT, crash=point)
    assert crashed.returncode == CRASH_EXIT, crashed.stderr[-2000:]
    # A payment cut off between reservation and the processor's answer is finished by the
    # reconciler once it is five minutes old: the operator's next run is a little later.
    (again,) = run_schedulers(db, CHARGE_AT + timedelta(minutes=10))

    assert again.returncode == 0, again.stderr[-2000:]
    await assert_charged_once(bills)
    await assert_reminded_once(bills)
    (quiet,) = run_schedulers(db, CHARGE_AT + timedelta(minutes=20))
    assert count([quiet], "autopay:", "charged") == 0
    assert count([quiet], "reminders:", "sent") == 0
