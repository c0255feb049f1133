"""When autopay leaves a bill unpaid for a reason the member can act on, the member is told."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time

from adapters.clock import FixedClock, set_clock
from models import (
    AccountAccess,
    AutopayCharge,
    AutopayEnrollment,
    Bill,
    BillingAccount,
    Member,
    Notification,
    OutboxEvent,
    Payment,
    PaymentMethod,
)
from models.enums import (
    AccessRole,
    AccountStatus,
    AutopayChargeStatus,
    AutopaySkipReason,
    AutopayStatus,
    AutopayStrategy,
    NotificationKind,
    PaymentMethodStatus,
)
from resolvers.access import load_viewer
from resolvers.autopay_charges import claim, run_autopay
from resolvers.autopay_plan import due_now, next_run
from resolvers.autopay_report import AutopayReport
from resolvers.autopay_setup import cancel_autopay
from resolvers.payment_methods import remove_payment_method
from tests import factories
from tests.autopay_support import run_autopay_on

DUE = date(2026, 12, 10)  # a Thursday; 3 days before is Monday December 7
CYCLE = date(2026, 12, 7)
REVOKED = datetime(2026, 12, 1, tzinfo=UTC)


run = run_autopay_on


async def enrolled(*, due: int = 12_000) -> tuple[AutopayEnrollment, Bill]:
    jordan = await factories.member()
    acct = await factories.account(jordan)
    card = await factories.card(jordan)
    enrollment = await factories.autopay(jordan, acct, card)
    bill = await factories.bill(acct, due=due, due_date=DUE, statement_date=date(2026, 11, 15))
    return enrollment, bill


async def told(bill: Bill) -> list[str]:
    rows = await Notification.filter(bill_id=bill.id, kind=NotificationKind.AUTOPAY_FAILED)
    return [n.message for n in sorted(rows, key=lambda n: n.id)]


async def test_a_window_that_closed_with_no_run_is_recorded_and_told_once(db: str) -> None:
    enrollment, bill = await enrolled()

    report = await run(date(2026, 12, 11))  # the scheduler was down from Dec 4 to Dec 10
    await run(date(2026, 12, 12))

    charge = await AutopayCharge.get(bill_id=bill.id)
    assert (charge.status, charge.skip_reason, charge.cycle_date) == (
        AutopayChargeStatus.SKIPPED,
        "WINDOW_MISSED",
        CYCLE,
    )
    assert report.skipped == [charge.id]
    (message,) = await told(bill)
    assert "did not pay $120.00" in message and "was due Thursday, December 10" in message
    notice = await Notification.get(bill_id=bill.id, kind=NotificationKind.AUTOPAY_FAILED)
    assert notice.member_id == enrollment.member_id
    assert await OutboxEvent.filter(notification_id=notice.id).count() == 1
    assert not await Payment.filter(bill_id=bill.id).exists()


async def test_a_closed_window_autopay_did_not_owe_is_left_alone(db: str) -> None:
    _, paid = await enrolled()
    await Bill.filter(id=paid.id).update(amount_due=0, amount_paid=12_000)
    late, before_enrolment = await enrolled()
    # Set up (or changed) after the due date: that bill was never autopay's.
    await AutopayEnrollment.filter(id=late.id).update(updated_at=datetime(2026, 12, 11, tzinfo=UTC))

    await run(date(2026, 12, 12))

    assert not await AutopayCharge.filter(bill_id__in=[paid.id, before_enrolment.id]).exists()
    assert not await Notification.filter(kind=NotificationKind.AUTOPAY_FAILED).exists()


async def test_skips_the_member_can_act_on_are_told_once_per_reason(db: str) -> None:
    expired, expired_bill = await enrolled()
    await PaymentMethod.filter(id=expired.method_id).update(exp_month=11, exp_year=2026)
    held, held_bill = await enrolled()
    await BillingAccount.filter(id=held.account_id).update(status=AccountStatus.ON_HOLD)
    _, paid = await enrolled()
    await Bill.filter(id=paid.id).update(amount_due=0, amount_paid=12_000)

    await run(CYCLE)
    await run(date(2026, 12, 8))

    (card,) = await told(expired_bill)
    assert "Visa ending 4242 has expired" in card and "another payment method" in card
    (hold,) = await told(held_bill)
    assert "on hold" in hold and "by Thursday, December 10, 2026" in hold
    assert await told(paid) == []  # nothing was owed: nothing to tell
    assert await Notification.filter(kind=NotificationKind.AUTOPAY_FAILED).count() == 2


async def proxy_autopay() -> tuple[Member, AutopayEnrollment, PaymentMethod]:
    """Sam, a proxy payer on Alex's account, pays its bills by autopay with his own card."""
    alex = await factories.member("alex@example.org")
    acct = await factories.account(alex)
    sam = await factories.member("sam@example.org")
    await factories.grant(sam, acct, AccessRole.PROXY_PAY)
    card = await factories.card(sam)
    return sam, await factories.autopay(sam, acct, card), card


async def test_a_proxy_whose_access_ends_is_told_once_without_the_bill_and_autopay_stops(
    db: str,
) -> None:
    sam, enrollment, card = await proxy_autopay()
    acct = await BillingAccount.get(id=enrollment.account_id)
    bill = await factories.bill(acct, due=67_890, due_date=DUE, statement_date=date(2026, 11, 15))
    await AccountAccess.filter(member_id=sam.id).update(
        revoked_at=datetime(2026, 12, 1, tzinfo=UTC)
    )

    await run(CYCLE)
    later = await factories.bill(acct, due=12_345, due_date=date(2027, 1, 14))
    await run(date(2027, 1, 11))

    (notice,) = await Notification.filter(member_id=sam.id)
    assert "no longer includes paying" in notice.message
    assert acct.account_number in notice.message
    for secret in (bill.statement_number, later.statement_number, "678.90", "123.45"):
        assert secret not in notice.message
    assert (notice.bill_id, notice.account_id, notice.amount) == (None, None, None)
    assert (await AutopayEnrollment.get(id=enrollment.id)).status is AutopayStatus.CANCELED
    assert not await Payment.all().exists()
    viewer = await load_viewer("sam@example.org", "member")
    assert viewer is not None
    removed = await remove_payment_method(viewer=viewer, method_id=card.id)
    assert removed.status is PaymentMethodStatus.REMOVED


async def test_who_set_up_autopay_may_cancel_it_after_losing_access(db: str) -> None:
    sam, enrollment, card = await proxy_autopay()
    await AccountAccess.filter(member_id=sam.id).update(
        revoked_at=datetime(2026, 12, 1, tzinfo=UTC)
    )
    viewer = await load_viewer("sam@example.org", "member")
    assert viewer is not None and not viewer.can_see(enrollment.account_id)

    canceled = await cancel_autopay(viewer=viewer, account_id=enrollment.account_id)

    assert canceled.status is AutopayStatus.CANCELED
    await remove_payment_method(viewer=viewer, method_id=card.id)


async def test_a_method_removed_after_the_claim_is_told(db: str) -> None:
    enrollment, bill = await enrolled()
    set_clock(FixedClock(datetime.combine(CYCLE, time(9), UTC)))
    (planned,) = await due_now(enrollment, CYCLE)
    assert await claim(enrollment, planned, AutopayReport()) is not None  # then the run died
    await PaymentMethod.filter(id=enrollment.method_id).update(status=PaymentMethodStatus.REMOVED)

    await run(CYCLE)

    charge = await AutopayCharge.get(bill_id=bill.id)
    assert (charge.status, charge.skip_reason) == (
        AutopayChargeStatus.SKIPPED,
        "PAYMENT_METHOD_REMOVED",
    )
    (message,) = await told(bill)
    assert "was removed" in message


async def test_minimum_due_with_no_minimum_set_is_recorded_and_told(db: str) -> None:
    jordan = await factories.member()
    acct = await factories.account(jordan)
    card = await factories.card(jordan)
    enrollment = await factories.autopay(jordan, acct, card, strategy=AutopayStrategy.MINIMUM_DUE)
    bill = await factories.bill(acct, due=12_000, due_date=DUE, statement_date=date(2026, 11, 15))

    await run(CYCLE)

    charge = await AutopayCharge.get(enrollment_id=enrollment.id)
    assert (charge.status, charge.skip_reason) == (AutopayChargeStatus.SKIPPED, "NO_MINIMUM_SET")
    (message,) = await told(bill)
    assert "did not pay $120.00" in message and "no minimum payment" in message
    found = await next_run(enrollment, date(2026, 12, 1))
    assert found is not None and found.skip_reason is AutopaySkipReason.NO_MINIMUM_SET


async def test_concurrent_runs_record_and_tell_a_missed_window_once(db: str) -> None:
    bills = [(await enrolled())[1] for _ in range(3)]
    at = datetime.combine(date(2026, 12, 11), time(9), UTC)
    set_clock(FixedClock(at))

    reports = await asyncio.gather(*(run_autopay(at) for _ in range(4)))

    assert sum(len(r.skipped) for r in reports) == 3
    for bill in bills:
        assert await AutopayCharge.filter(bill_id=bill.id).count() == 1
        assert len(await told(bill)) == 1
