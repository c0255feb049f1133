"""A cancellation whose request died after claiming its key is finished by a retry."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from tortoise.transactions import in_transaction

from adapters.clock import FixedClock, set_clock
from adapters.processor import get_processor
from models import Bill, IdempotencyRecord, OutboxEvent, Payment
from models.enums import IdempotencyStatus, PaymentErrorCode, PaymentEventType, PaymentStatus
from resolvers import idempotency
from resolvers.access import Viewer
from resolvers.cancellation import OPERATION, cancel_payment
from resolvers.payments import PaymentError, pay_bill
from tests.ledger import assert_ledger, snapshot
from tests.resolvers.test_payments_ach import FRIDAY, SETTLES, _ach, _pay

KEY = "cancel-1"


async def _died_after_claiming(viewer: Viewer, payment: Payment) -> None:
    """What a cancellation leaves when its process dies between its claim and the end
    of its processor call: the key, claimed and still in progress."""
    async with in_transaction() as conn:
        await idempotency.claim(
            conn,
            member_id=viewer.member.id,
            key=KEY,
            operation=OPERATION,
            request_hash=idempotency.fingerprint(OPERATION, {"payment": payment.id}),
            response={"payment_id": payment.id},
        )


@pytest.mark.parametrize("processor_heard", [False, True])
async def test_a_retry_finishes_an_abandoned_cancellation(db: str, processor_heard: bool) -> None:
    viewer, bill, method_id = await _ach(SETTLES)
    payment = await _pay(viewer, bill, method_id)
    await _died_after_claiming(viewer, payment)
    if processor_heard:
        await get_processor().cancel(reference=str(payment.processor_reference))

    set_clock(FixedClock(FRIDAY + timedelta(minutes=1)))  # the claim may still be alive
    before = await snapshot()
    with pytest.raises(PaymentError) as caught:
        await cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key=KEY)
    assert caught.value.code is PaymentErrorCode.PAYMENT_IN_PROGRESS
    assert await snapshot() == before

    set_clock(FixedClock(FRIDAY + idempotency.ABANDONED_AFTER + timedelta(seconds=1)))
    canceled = await cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key=KEY)

    assert canceled.id == payment.id and canceled.status is PaymentStatus.CANCELED
    assert (await Bill.get(id=bill.id)).amount_due == 20_000
    record = await IdempotencyRecord.get(member_id=viewer.member.id, key=KEY)
    assert record.status is IdempotencyStatus.COMPLETED
    replay = await cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key=KEY)
    assert replay.status is PaymentStatus.CANCELED
    await assert_ledger()


async def test_two_retries_at_once_cancel_once(db: str) -> None:
    viewer, bill, method_id = await _ach(SETTLES)
    payment = await _pay(viewer, bill, method_id)
    await _died_after_claiming(viewer, payment)
    set_clock(FixedClock(FRIDAY + timedelta(minutes=6)))

    both = await asyncio.gather(
        *(
            cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key=KEY)
            for _ in range(2)
        )
    )

    assert [p.status for p in both] == [PaymentStatus.CANCELED] * 2
    canceled = PaymentEventType.PAYMENT_CANCELED
    assert await OutboxEvent.filter(payment_id=payment.id, type=canceled).count() == 1
    assert (await Bill.get(id=bill.id)).amount_due == 20_000
    await assert_ledger()


async def test_an_abandoned_claim_is_not_taken_over_with_other_input(db: str) -> None:
    viewer, bill, method_id = await _ach(SETTLES)
    payment = await _pay(viewer, bill, method_id)
    other = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=1_000, method_id=method_id, idempotency_key="ach-2"
    )
    await _died_after_claiming(viewer, payment)
    set_clock(FixedClock(FRIDAY + timedelta(minutes=6)))
    before = await snapshot()

    with pytest.raises(PaymentError) as caught:  # the key, for another payment
        await cancel_payment(viewer=viewer, payment_id=other.id, idempotency_key=KEY)
    assert caught.value.code is PaymentErrorCode.IDEMPOTENCY_KEY_REUSED
    assert await snapshot() == before
    assert (await Payment.get(id=payment.id)).status is PaymentStatus.PROCESSING
