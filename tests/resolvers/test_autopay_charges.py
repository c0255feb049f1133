"""The autopay charge job: each bill charged once, on its business day, or skipped with a reason."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from adapters.clock import FixedClock, set_clock
from models import (
    AccountAccess,
    AutopayCharge,
    AutopayEnrollment,
    Bill,
    BillingAccount,
    Member,
    Notification,
    Payment,
    PaymentMethod,
)
from models.enums import (
    AccountStatus,
    AutopayChargeStatus,
    AutopaySkipReason,
    AutopayStatus,
    AutopayStrategy,
    NotificationKind,
    PaymentSource,
    PaymentStatus,
)
from models.payments import SandboxCharge
from resolvers import autopay_charges
from resolvers.access import load_viewer
from resolvers.autopay_charges import claim, idempotency_key, run_autopay
from resolvers.autopay_plan import due_now
from resolvers.autopay_report import AutopayReport
from resolvers.payments import pay_bill
from tests import factories
from tests.autopay_support import run_autopay_on
from tests.ledger import assert_ledger

DUE = date(2026, 12, 10)  # a Thursday; 3 days before is Monday December 7
CYCLE = date(2026, 12, 7)


run = run_autopay_on


async def enrolled(
    *, token: str = "tok_mastercard", due: int = 12_000, due_date: date = DUE, **terms: object
) -> tuple[AutopayEnrollment, Bill]:
    jordan = await factories.member()
    acct = await factories.account(jordan)
    card = await factories.card(jordan, token=token)
    enrollment = await factories.autopay(jordan, acct, card, **terms)  # type: ignore[arg-type]
    bill = await factories.bill(acct, due=due, due_date=due_date, statement_date=date(2026, 11, 15))
    return enrollment, bill


async def test_a_bill_is_charged_once_on_its_cycle_date(db: str) -> None:
    enrollment, bill = await enrolled()

    assert (await run(date(2026, 12, 6))).charged == []
    report = await run(CYCLE)
    again = await run(CYCLE)
    later = await run(date(2026, 12, 9))

    assert len(report.charged) == 1 and again.charged == [] and later.charged == []
    payment = await Payment.get(bill_id=bill.id)
    assert (payment.status, payment.source, payment.amount) == (
        PaymentStatus.SUCCEEDED,
        PaymentSource.AUTOPAY,
        12_000,
    )
    charge = await AutopayCharge.get(enrollment_id=enrollment.id)
    assert (charge.status, charge.cycle_date, charge.payment_id) == (
        AutopayChargeStatus.CHARGED,
        CYCLE,
        payment.id,
    )
    assert await SandboxCharge.all().count() == 1
    assert (await Bill.get(id=bill.id)).amount_due == 0
    await assert_ledger()


async def test_a_cycle_on_a_weekend_or_holiday_moves_to_the_next_business_day(db: str) -> None:
    # Due Sunday Nov 29: 3 days before is Thanksgiving; the Friday after is a business day.
    _, thanksgiving = await enrolled(due_date=date(2026, 11, 29))
    # Due Wednesday Dec 16: 3 days before is a Sunday.
    _, sunday = await enrolled(due_date=date(2026, 12, 16))

    await run(date(2026, 11, 26))
    assert not await Payment.filter(bill_id=thanksgiving.id).exists()
    await run(date(2026, 11, 27))
    assert await Payment.filter(bill_id=thanksgiving.id).count() == 1

    await run(date(2026, 12, 13))
    assert not await Payment.filter(bill_id=sunday.id).exists()
    await run(date(2026, 12, 14))
    assert await Payment.filter(bill_id=sunday.id).count() == 1


async def test_a_bill_due_on_a_weekend_is_charged_the_business_day_before_not_after(
    db: str,
) -> None:
    _, saturday = await enrolled(due_date=date(2026, 12, 12), days_before_due=0)

    await run(date(2026, 12, 10))
    assert not await Payment.filter(bill_id=saturday.id).exists()
    await run(date(2026, 12, 11))

    (payment,) = await Payment.filter(bill_id=saturday.id)
    assert payment.created_at.date() == date(2026, 12, 11)
    charge = await AutopayCharge.get(bill_id=saturday.id)
    assert charge.cycle_date == date(2026, 12, 11)
    assert (await Bill.get(id=saturday.id)).amount_due == 0


async def test_a_missed_cycle_is_caught_up_until_the_due_date_and_not_after(db: str) -> None:
    _, caught_up = await enrolled()
    _, too_late = await enrolled(due_date=date(2026, 12, 9))

    await run(DUE)  # the scheduler was down from Dec 7 to Dec 10

    assert await Payment.filter(bill_id=caught_up.id).count() == 1
    assert not await Payment.filter(bill_id=too_late.id).exists()
    missed = await AutopayCharge.get(bill_id=too_late.id)
    assert (missed.status, missed.skip_reason) == (AutopayChargeStatus.SKIPPED, "WINDOW_MISSED")


async def test_the_amount_is_the_least_of_strategy_cap_and_due_less_pending(db: str) -> None:
    _, capped = await enrolled(due=30_000, max_amount=15_000)
    _, fixed = await enrolled(due=30_000, strategy=AutopayStrategy.FIXED_AMOUNT, fixed_amount=5_000)
    _, pending = await enrolled(due=30_000)
    # Another payment of 100.00 is on its way: only 200.00 is left to pay.
    await Bill.filter(id=pending.id).update(amount_due=20_000, amount_pending=10_000)

    await run(CYCLE)

    amounts = {p.bill_id: p.amount for p in await Payment.all()}
    assert amounts == {capped.id: 15_000, fixed.id: 5_000, pending.id: 20_000}


async def test_skips_are_recorded_with_a_reason_and_charge_nothing(db: str) -> None:
    _, paid = await enrolled()
    await Bill.filter(id=paid.id).update(amount_due=0, amount_paid=12_000)
    _, voided = await enrolled()
    await Bill.filter(id=voided.id).update(voided_at=datetime(2026, 12, 1, tzinfo=UTC))
    held, on_hold = await enrolled()
    await BillingAccount.filter(id=held.account_id).update(status=AccountStatus.ON_HOLD)
    stale, expired = await enrolled()
    await PaymentMethod.filter(id=stale.method_id).update(exp_month=11, exp_year=2026)

    report = await run(CYCLE)

    reasons = {c.bill_id: c.skip_reason for c in await AutopayCharge.all()}
    assert reasons == {
        paid.id: "NOTHING_DUE",
        voided.id: "BILL_VOIDED",
        on_hold.id: "ACCOUNT_ON_HOLD",
        expired.id: "PAYMENT_METHOD_EXPIRED",
    }
    assert len(report.skipped) == 4 and report.charged == []
    assert await Payment.all().count() == 0
    assert (await run(CYCLE)).skipped == []  # the same skip is not recorded twice


async def test_a_skipped_cycle_is_charged_once_the_reason_goes_away_before_due(db: str) -> None:
    held, bill = await enrolled()
    await BillingAccount.filter(id=held.account_id).update(status=AccountStatus.ON_HOLD)
    await run(CYCLE)
    await BillingAccount.filter(id=held.account_id).update(status=AccountStatus.ACTIVE)

    report = await run(date(2026, 12, 8))

    assert len(report.charged) == 1
    charge = await AutopayCharge.get(bill_id=bill.id)
    assert (charge.status, charge.skip_reason, charge.cycle_date) == (
        AutopayChargeStatus.CHARGED,
        None,
        CYCLE,
    )
    assert await Payment.filter(bill_id=bill.id).count() == 1


async def test_three_failures_in_a_row_suspend_the_enrollment(db: str) -> None:
    enrollment, first = await enrolled(token="tok_chargeDeclined")
    acct = await BillingAccount.get(id=enrollment.account_id)
    dues = [date(2027, 1, 11), date(2027, 2, 10)]
    later = [await factories.bill(acct, due=9_000, due_date=d, statement_date=d) for d in dues]

    await run(CYCLE)
    after_one = await AutopayEnrollment.get(id=enrollment.id)
    await run(date(2027, 1, 8))
    report = await run(date(2027, 2, 8))  # Feb 7 is a Sunday

    assert (after_one.status, after_one.consecutive_failures) == (AutopayStatus.ACTIVE, 1)
    suspended = await AutopayEnrollment.get(id=enrollment.id)
    assert (suspended.status, suspended.consecutive_failures) == (AutopayStatus.SUSPENDED, 3)
    assert report.suspended == [enrollment.id]
    charges = await AutopayCharge.all().order_by("cycle_date")
    assert [(c.bill_id, c.status, c.skip_reason) for c in charges] == [
        (bill.id, AutopayChargeStatus.FAILED, "CARD_DECLINED") for bill in [first, *later]
    ]
    notices = await Notification.filter(kind=NotificationKind.AUTOPAY_FAILED).order_by("id")
    assert len(notices) == 3
    assert "paused" not in notices[0].message and "paused" in notices[2].message
    assert all(n.member_id == enrollment.member_id for n in notices)
    await assert_ledger()


async def test_a_success_resets_the_failure_count(db: str) -> None:
    enrollment, _ = await enrolled(token="tok_chargeDeclined")
    acct = await BillingAccount.get(id=enrollment.account_id)
    await run(CYCLE)
    good = await factories.card(await enrollment.member, token="tok_visa")
    await AutopayEnrollment.filter(id=enrollment.id).update(method_id=good.id)
    await factories.bill(acct, due_date=date(2027, 1, 11), statement_date=date(2026, 12, 15))

    await run(date(2027, 1, 8))

    assert (await AutopayEnrollment.get(id=enrollment.id)).consecutive_failures == 0


async def test_concurrent_runs_charge_each_bill_once(db: str) -> None:
    bills = [(await enrolled())[1] for _ in range(5)]
    at = datetime.combine(CYCLE, time(9), UTC)
    set_clock(FixedClock(at))

    reports = await asyncio.gather(*(run_autopay(at) for _ in range(4)))

    assert sum(len(r.charged) for r in reports) == 5
    assert sorted(p.bill_id for p in await Payment.all()) == sorted(b.id for b in bills)
    assert await SandboxCharge.all().count() == 5
    assert await AutopayCharge.filter(status=AutopayChargeStatus.CHARGED).count() == 5
    await assert_ledger()


async def claimed_cycle(enrollment: AutopayEnrollment) -> AutopayCharge:
    """What a run that died right after its claim leaves behind."""
    set_clock(FixedClock(datetime.combine(CYCLE, time(9), UTC)))
    (run_,) = await due_now(enrollment, CYCLE)
    charge = await claim(enrollment, run_, AutopayReport())
    assert charge is not None and charge.status is AutopayChargeStatus.CLAIMED
    return charge


async def test_a_claim_left_by_a_dead_run_is_charged_by_the_next_run(db: str) -> None:
    enrollment, bill = await enrolled()
    await claimed_cycle(enrollment)

    report = await run(CYCLE)

    assert len(report.charged) == 1
    assert await Payment.filter(bill_id=bill.id).count() == 1
    assert await SandboxCharge.all().count() == 1


async def test_a_run_that_died_after_paying_is_recorded_without_paying_again(db: str) -> None:
    enrollment, bill = await enrolled()
    charge = await claimed_cycle(enrollment)
    viewer = await load_viewer((await enrollment.member).email, "member")
    assert viewer is not None
    paid = await pay_bill(
        viewer=viewer,
        bill_id=bill.id,
        amount=charge.amount,
        method_id=enrollment.method_id,
        idempotency_key=idempotency_key(enrollment.id, bill.id, CYCLE),
        source=PaymentSource.AUTOPAY,
    )

    report = await run(CYCLE)

    assert report.charged == [charge.id]
    assert (await AutopayCharge.get(id=charge.id)).payment_id == paid.id
    assert await Payment.filter(bill_id=bill.id).count() == 1
    assert await SandboxCharge.all().count() == 1
    await assert_ledger()


async def test_a_claim_of_a_cancelled_enrollment_that_never_paid_is_skipped(db: str) -> None:
    enrollment, bill = await enrolled()
    charge = await claimed_cycle(enrollment)
    await AutopayEnrollment.filter(id=enrollment.id).update(status=AutopayStatus.CANCELED)

    await run(CYCLE)

    done = await AutopayCharge.get(id=charge.id)
    assert (done.status, done.skip_reason) == (AutopayChargeStatus.SKIPPED, "ENROLLMENT_CANCELED")
    assert not await Payment.filter(bill_id=bill.id).exists()


async def test_a_bill_charged_is_not_charged_again_when_the_cycle_moves(db: str) -> None:
    enrollment, bill = await enrolled(
        due=12_000, strategy=AutopayStrategy.FIXED_AMOUNT, fixed_amount=5_000
    )
    await run(CYCLE)
    await AutopayEnrollment.filter(id=enrollment.id).update(days_before_due=1)

    await run(date(2026, 12, 9))

    assert await Payment.filter(bill_id=bill.id).count() == 1


async def test_access_revoked_after_the_claim_skips_the_cycle(db: str) -> None:
    enrollment, bill = await enrolled()
    charge = await claimed_cycle(enrollment)
    await AccountAccess.filter(account_id=bill.account_id).update(
        revoked_at=datetime(2026, 12, 6, tzinfo=UTC)
    )

    await run(CYCLE)

    done = await AutopayCharge.get(id=charge.id)
    assert (done.status, done.skip_reason) == (AutopayChargeStatus.SKIPPED, "NO_PAYING_ACCESS")
    assert not await Payment.filter(bill_id=bill.id).exists()


async def test_an_unexpected_error_on_one_charge_leaves_it_for_the_next_run(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, unlucky = await enrolled()
    _, lucky = await enrolled()
    real = autopay_charges.pay_bill

    async def flaky(**kwargs: Any) -> Payment:
        if kwargs["bill_id"] == unlucky.id:
            raise RuntimeError("connection reset")
        return await real(**kwargs)

    monkeypatch.setattr(autopay_charges, "pay_bill", flaky)
    first = await run(CYCLE)
    monkeypatch.setattr(autopay_charges, "pay_bill", real)
    second = await run(CYCLE)

    assert len(first.charged) == 1 and len(first.errors) == 1
    assert len(second.charged) == 1 and second.errors == []
    assert sorted(p.bill_id for p in await Payment.all()) == sorted([lucky.id, unlucky.id])


async def pays_the_minimum_by_hand(enrollment: AutopayEnrollment, bill: Bill) -> None:
    member = await Member.get(id=enrollment.member_id)
    viewer = await load_viewer(member.email, "member")
    assert viewer is not None
    await pay_bill(
        viewer=viewer,
        bill_id=bill.id,
        amount=4_000,
        method_id=enrollment.method_id,
        idempotency_key=factories.fresh_key("by-hand"),
    )


async def test_a_minimum_paid_by_hand_after_the_plan_is_not_taken_again(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, bill = await enrolled(strategy=AutopayStrategy.MINIMUM_DUE)
    await Bill.filter(id=bill.id).update(minimum_due=4_000)
    planned_claim = autopay_charges.claim

    async def paid_meanwhile(
        enrollment: AutopayEnrollment, run: Any, report: AutopayReport
    ) -> AutopayCharge | None:
        await pays_the_minimum_by_hand(enrollment, bill)
        return await planned_claim(enrollment, run, report)

    monkeypatch.setattr(autopay_charges, "claim", paid_meanwhile)
    await run(CYCLE)

    paid = await Payment.filter(bill_id=bill.id).values_list("source", "amount")
    assert paid == [(PaymentSource.ONE_TIME, 4_000)]
    charge = await AutopayCharge.get(bill_id=bill.id)
    assert (charge.status, charge.skip_reason) == (AutopayChargeStatus.SKIPPED, "NOTHING_DUE")
    await assert_ledger()


async def test_a_claim_resumed_after_a_hand_payment_charges_what_is_left(db: str) -> None:
    enrollment, bill = await enrolled(strategy=AutopayStrategy.MINIMUM_DUE)
    await Bill.filter(id=bill.id).update(minimum_due=6_000)
    await claimed_cycle(enrollment)  # the run died after its claim
    await pays_the_minimum_by_hand(enrollment, bill)  # 40.00 of the 60.00 minimum

    await run(CYCLE)

    paid = await Payment.filter(bill_id=bill.id).order_by("id").values_list("source", "amount")
    assert paid == [(PaymentSource.ONE_TIME, 4_000), (PaymentSource.AUTOPAY, 2_000)]
    await assert_ledger()


async def test_another_workers_payment_under_the_key_is_not_taken_for_a_hand_payment(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two schedulers resume one claim: one pays under its key just before the other
    # looks at the bill again, and finds it owing nothing.
    enrollment, bill = await enrolled()
    charge = await claimed_cycle(enrollment)
    key = idempotency_key(enrollment.id, bill.id, charge.cycle_date, charge.attempt)
    member = await Member.get(id=enrollment.member_id)
    looked_again = autopay_charges._stopped_since

    async def the_other_worker_paid_first(
        enrollment: AutopayEnrollment, charge: AutopayCharge
    ) -> AutopaySkipReason | None:
        viewer = await load_viewer(member.email, "member")
        assert viewer is not None
        await pay_bill(
            viewer=viewer,
            bill_id=bill.id,
            amount=charge.amount,
            method_id=enrollment.method_id,
            idempotency_key=key,
            source=PaymentSource.AUTOPAY,
        )
        return await looked_again(enrollment, charge)

    monkeypatch.setattr(autopay_charges, "_stopped_since", the_other_worker_paid_first)
    await run(CYCLE)

    done = await AutopayCharge.get(id=charge.id)
    payment = await Payment.get(bill_id=bill.id)
    assert (done.status, done.payment_id) == (AutopayChargeStatus.CHARGED, payment.id)
    await assert_ledger()
