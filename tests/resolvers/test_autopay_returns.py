"""An autopay ACH debit counts when its outcome is known: a return is a failed charge."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

from adapters.clock import FixedClock, set_clock
from models import AutopayCharge, AutopayEnrollment, Bill, Notification, OutboxEvent, Payment
from models.enums import (
    AutopayChargeStatus,
    AutopayStatus,
    BankAccountType,
    NotificationKind,
    PaymentSource,
    PaymentStatus,
)
from resolvers.access import load_viewer
from resolvers.autopay_charges import claim, idempotency_key, run_autopay
from resolvers.autopay_plan import due_now
from resolvers.autopay_report import AutopayReport
from resolvers.payment_methods import BankAccount, add_bank_account
from resolvers.payments import pay_bill
from resolvers.settlement import settle_due
from tests import factories
from tests.ledger import assert_ledger

DUE = date(2026, 12, 10)
CYCLE = date(2026, 12, 7)  # a Monday; an ACH debit made then settles by Wednesday
SETTLES = CYCLE + timedelta(days=3)
RETURNED = "000111111116"  # the sandbox returns debits from this account R01
SETTLING = "000123456789"


def at(day: date) -> datetime:
    moment = datetime.combine(day, time(9), UTC)
    set_clock(FixedClock(moment))
    return moment


async def enrolled_by_bank(account_number: str, *, failures: int = 0) -> AutopayEnrollment:
    set_clock(FixedClock(datetime(2026, 11, 2, 9, tzinfo=UTC)))
    jo = await factories.member()
    acct = await factories.account(jo)
    viewer = await load_viewer(jo.email, "member")
    assert viewer is not None
    bank = BankAccount("110000000", account_number, BankAccountType.CHECKING, "Jo Doe")
    method = await add_bank_account(viewer=viewer, account=bank)
    enrollment = await factories.autopay(jo, acct, method)
    await AutopayEnrollment.filter(id=enrollment.id).update(consecutive_failures=failures)
    await factories.bill(acct, due=12_000, due_date=DUE, statement_date=date(2026, 11, 15))
    return enrollment


async def test_a_returned_autopay_debit_fails_its_charge_counts_and_tells_the_member(
    db: str,
) -> None:
    enrollment = await enrolled_by_bank(RETURNED)
    await run_autopay(at(CYCLE))
    charge = await AutopayCharge.get(enrollment_id=enrollment.id)
    assert charge.status is AutopayChargeStatus.CHARGED

    report = await settle_due(at(SETTLES))

    assert len(report.returned) == 1
    payment = await Payment.get(id=charge.payment_id)
    assert payment.status is PaymentStatus.RETURNED
    failed = await AutopayCharge.get(id=charge.id)
    assert (failed.status, failed.skip_reason, failed.payment_id) == (
        AutopayChargeStatus.FAILED,
        "ACH_RETURN_R01",
        payment.id,
    )
    after = await AutopayEnrollment.get(id=enrollment.id)
    assert (after.status, after.consecutive_failures) == (AutopayStatus.ACTIVE, 1)
    (notice,) = await Notification.filter(kind=NotificationKind.AUTOPAY_FAILED)
    assert (notice.member_id, notice.payment_id) == (enrollment.member_id, payment.id)
    assert "returned" in notice.message and "$120.00" in notice.message
    assert await OutboxEvent.filter(notification_id=notice.id).count() == 1
    assert (await Bill.get(id=charge.bill_id)).amount_due == 12_000
    await settle_due(at(SETTLES))  # asking again changes nothing
    assert await Notification.filter(kind=NotificationKind.AUTOPAY_FAILED).count() == 1
    await assert_ledger()


async def test_a_return_that_makes_three_failures_in_a_row_suspends_autopay(db: str) -> None:
    enrollment = await enrolled_by_bank(RETURNED, failures=2)
    await run_autopay(at(CYCLE))

    await settle_due(at(SETTLES))

    after = await AutopayEnrollment.get(id=enrollment.id)
    assert (after.status, after.consecutive_failures) == (AutopayStatus.SUSPENDED, 3)
    (notice,) = await Notification.filter(kind=NotificationKind.AUTOPAY_FAILED)
    assert "paused" in notice.message


async def test_the_failure_count_resets_when_the_debit_settles_not_when_it_is_sent(
    db: str,
) -> None:
    enrollment = await enrolled_by_bank(SETTLING, failures=2)

    await run_autopay(at(CYCLE))
    sent = await AutopayEnrollment.get(id=enrollment.id)
    await settle_due(at(SETTLES))
    settled = await AutopayEnrollment.get(id=enrollment.id)

    assert sent.consecutive_failures == 2
    assert settled.consecutive_failures == 0
    charge = await AutopayCharge.get(enrollment_id=enrollment.id)
    assert charge.status is AutopayChargeStatus.CHARGED
    assert not await Notification.filter(kind=NotificationKind.AUTOPAY_FAILED).exists()


async def test_a_claim_resumed_after_its_debit_was_returned_is_recorded_as_failed(
    db: str,
) -> None:
    enrollment = await enrolled_by_bank(RETURNED)
    at(CYCLE)
    (run,) = await due_now(enrollment, CYCLE)
    charge = await claim(enrollment, run, AutopayReport())
    assert charge is not None
    viewer = await load_viewer((await enrollment.member).email, "member")
    assert viewer is not None
    await pay_bill(  # the run died after paying, before recording it
        viewer=viewer,
        bill_id=charge.bill_id,
        amount=charge.amount,
        method_id=enrollment.method_id,
        idempotency_key=idempotency_key(enrollment.id, charge.bill_id, CYCLE),
        source=PaymentSource.AUTOPAY,
    )
    await settle_due(at(SETTLES))

    report = await run_autopay(at(SETTLES))

    assert report.failed == [charge.id]
    done = await AutopayCharge.get(id=charge.id)
    assert (done.status, done.skip_reason) == (AutopayChargeStatus.FAILED, "ACH_RETURN_R01")
    assert (await AutopayEnrollment.get(id=enrollment.id)).consecutive_failures == 1
    assert await Notification.filter(kind=NotificationKind.AUTOPAY_FAILED).count() == 1


async def test_concurrent_settlements_count_a_return_once(db: str) -> None:
    enrollments = [await enrolled_by_bank(RETURNED) for _ in range(3)]
    await run_autopay(at(CYCLE))
    moment = at(SETTLES)

    await asyncio.gather(*(settle_due(moment) for _ in range(4)))

    for enrollment in enrollments:
        after = await AutopayEnrollment.get(id=enrollment.id)
        assert after.consecutive_failures == 1
    assert await Notification.filter(kind=NotificationKind.AUTOPAY_FAILED).count() == 3
    await assert_ledger()
