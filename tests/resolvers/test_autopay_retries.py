"""A processor error is retried on a later day, never suspending; a decline waits for a new card."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time

from adapters.clock import FixedClock, set_clock
from models import (
    AutopayCharge,
    AutopayEnrollment,
    Bill,
    IdempotencyRecord,
    Notification,
    Payment,
    PaymentMethod,
)
from models.enums import (
    AutopayChargeStatus,
    AutopayStatus,
    AutopayStrategy,
    NotificationKind,
    PaymentStatus,
)
from resolvers.access import load_viewer
from resolvers.autopay_charges import idempotency_key, run_autopay
from resolvers.autopay_setup import setup_autopay
from tests import factories
from tests.autopay_support import run_autopay_on
from tests.ledger import assert_ledger

DUE = date(2026, 12, 10)  # a Thursday; 3 days before is Monday December 7
CYCLE = date(2026, 12, 7)


run = run_autopay_on


async def enrolled(token: str) -> tuple[AutopayEnrollment, Bill]:
    jo = await factories.member()
    acct = await factories.account(jo)
    card = await factories.card(jo, token=token)
    enrollment = await factories.autopay(jo, acct, card)
    bill = await factories.bill(acct, due=12_000, due_date=DUE, statement_date=date(2026, 11, 15))
    return enrollment, bill


async def tries(bill: Bill) -> list[tuple[PaymentStatus, str | None]]:
    payments = await Payment.filter(bill_id=bill.id).order_by("id")
    return [(p.status, p.failure_code) for p in payments]


async def failed_notices() -> list[str]:
    rows = await Notification.filter(kind=NotificationKind.AUTOPAY_FAILED).order_by("id")
    return [n.message for n in rows]


async def test_a_processor_error_is_tried_again_the_next_day_without_counting(db: str) -> None:
    enrollment, bill = await enrolled("tok_processingError")

    await run(CYCLE)
    await run(CYCLE)  # not again the same day
    first = await AutopayCharge.get(bill_id=bill.id)
    after_error = await AutopayEnrollment.get(id=enrollment.id)
    # The processor answers again the next day.
    await PaymentMethod.filter(id=enrollment.method_id).update(processor_token="tok_visa")
    report = await run(date(2026, 12, 8))

    assert (first.status, first.skip_reason, first.attempt) == (
        AutopayChargeStatus.FAILED,
        "PROCESSOR_UNAVAILABLE",
        1,
    )
    assert after_error.consecutive_failures == 0
    assert await failed_notices() == []  # a retry is coming: nothing to do for the member
    charge = await AutopayCharge.get(bill_id=bill.id)
    assert report.charged == [charge.id]
    assert (charge.status, charge.attempt) == (AutopayChargeStatus.CHARGED, 2)
    assert await tries(bill) == [
        (PaymentStatus.FAILED, "PROCESSOR_UNAVAILABLE"),
        (PaymentStatus.SUCCEEDED, None),
    ]
    second_key = idempotency_key(enrollment.id, bill.id, CYCLE, 2)
    assert await IdempotencyRecord.filter(key=second_key).count() == 1
    await assert_ledger()


async def test_processor_errors_to_the_due_date_are_told_once_and_never_suspend(
    db: str,
) -> None:
    enrollment, bill = await enrolled("tok_processingError")
    await AutopayEnrollment.filter(id=enrollment.id).update(consecutive_failures=2)

    for day in range(7, 13):
        await run(date(2026, 12, day))

    assert await tries(bill) == [(PaymentStatus.FAILED, "PROCESSOR_UNAVAILABLE")] * 4
    (message,) = await failed_notices()
    assert "processor did not answer" in message and "paused" not in message
    after = await AutopayEnrollment.get(id=enrollment.id)
    assert (after.status, after.consecutive_failures) == (AutopayStatus.ACTIVE, 2)


async def test_a_processor_error_whose_retries_were_missed_is_told_after_the_due_date(
    db: str,
) -> None:
    _, bill = await enrolled("tok_processingError")
    await run(CYCLE)

    await run(date(2026, 12, 12))  # the scheduler was down from Dec 8 to Dec 11
    await run(date(2026, 12, 13))

    assert len(await tries(bill)) == 1
    (message,) = await failed_notices()
    assert "processor did not answer" in message and "It was due" in message


async def test_a_decline_is_tried_again_only_once_per_change_of_method(db: str) -> None:
    enrollment, bill = await enrolled("tok_chargeDeclined")
    jo = await enrollment.member
    viewer = await load_viewer(jo.email, "member")
    assert viewer is not None

    async def switch_to(token: str) -> None:
        card = await factories.card(jo, token=token)
        await setup_autopay(
            viewer=viewer,
            account_id=enrollment.account_id,
            method_id=card.id,
            strategy=AutopayStrategy.STATEMENT_BALANCE,
        )

    await run(CYCLE)
    await run(date(2026, 12, 8))  # the same card: not again
    assert len(await tries(bill)) == 1
    await switch_to("tok_chargeDeclinedInsufficientFunds")
    await run(date(2026, 12, 8))
    await run(date(2026, 12, 9))
    assert len(await tries(bill)) == 2
    await switch_to("tok_visa")
    await run(date(2026, 12, 9))

    assert await tries(bill) == [
        (PaymentStatus.FAILED, "CARD_DECLINED"),
        (PaymentStatus.FAILED, "INSUFFICIENT_FUNDS"),
        (PaymentStatus.SUCCEEDED, None),
    ]
    charge = await AutopayCharge.get(bill_id=bill.id)
    assert (charge.status, charge.attempt) == (AutopayChargeStatus.CHARGED, 3)
    assert len(await failed_notices()) == 2
    upcoming = await Notification.filter(kind=NotificationKind.AUTOPAY_UPCOMING).count()
    assert upcoming == 3  # each method was announced before it was charged
    await assert_ledger()


async def test_concurrent_runs_retry_a_processor_error_once(db: str) -> None:
    bills = [(await enrolled("tok_processingError"))[1] for _ in range(3)]
    await run(CYCLE)
    at = datetime.combine(date(2026, 12, 8), time(9), UTC)
    set_clock(FixedClock(at))

    await asyncio.gather(*(run_autopay(at) for _ in range(4)))

    for bill in bills:
        assert len(await tries(bill)) == 2
        assert (await AutopayCharge.get(bill_id=bill.id)).attempt == 2
    await assert_ledger()
