"""A cancellation whose request died after claiming its key is finished by a retry."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from tortoise.transactions import in_transaction

from adapters.clock import FixedClock, set_clock
from adapters.processor import ProcessorUnavailable, get_processor, set_processor
from adapters.sandbox import SandboxProcessor
from models import Bill, IdempotencyRecord, OutboxEvent, Payment
from models.enums import IdempotencyStatus, PaymentErrorCode, PaymentEventType, PaymentStatus
from resolvers import cancellation, idempotency
from resolvers.access import Viewer
from resolvers.cancellation import OPERATION, cancel_payment
from resolvers.payments import PaymentError, pay_bill
from resolvers.settlement import settle_due
from resolvers.to_the_end import finish_in_flight
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


async def _abandoned() -> tuple[Viewer, Bill, Payment]:
    """A PROCESSING ACH payment whose cancellation died after claiming KEY, at FRIDAY."""
    viewer, bill, method_id = await _ach(SETTLES)
    payment = await _pay(viewer, bill, method_id)
    await _died_after_claiming(viewer, payment)
    return viewer, bill, payment


@contextlib.contextmanager
def _processor(processor: SandboxProcessor) -> Iterator[None]:
    set_processor(processor)
    try:
        yield
    finally:
        set_processor(None)


@pytest.mark.parametrize("processor_heard", [False, True])
async def test_a_retry_finishes_an_abandoned_cancellation(db: str, processor_heard: bool) -> None:
    viewer, bill, payment = await _abandoned()
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
    viewer, bill, payment = await _abandoned()
    set_clock(FixedClock(FRIDAY + timedelta(minutes=6)))

    both = await asyncio.gather(
        *(
            cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key=KEY)
            for _ in range(2)
        ),
        return_exceptions=True,
    )

    # One takes the claim over; the other finds it taken (PAYMENT_IN_PROGRESS), or,
    # if it came after the first had finished, the payment canceled.
    canceled = [p for p in both if isinstance(p, Payment)]
    assert canceled and all(p.status is PaymentStatus.CANCELED for p in canceled)
    for refused in both:
        if not isinstance(refused, Payment):
            assert isinstance(refused, PaymentError)
            assert refused.code is PaymentErrorCode.PAYMENT_IN_PROGRESS
    event = PaymentEventType.PAYMENT_CANCELED
    assert await OutboxEvent.filter(payment_id=payment.id, type=event).count() == 1
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


async def test_a_key_claimed_for_another_payment_since_the_check_is_a_reuse(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: two cancellations under one key, for two payments; the other one claims the
    # key after this one found it free and before this one claims it
    viewer, bill, method_id = await _ach(SETTLES)
    payment = await _pay(viewer, bill, method_id)
    other = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=1_000, method_id=method_id, idempotency_key="ach-2"
    )
    checks = 0
    check = idempotency.existing
    before: dict[str, object] = {}

    async def checked_before_the_other_claimed(**asked: str) -> dict[str, object] | None:
        nonlocal checks, before
        checks += 1
        if checks == 1:
            await _died_after_claiming(viewer, payment)  # the other request's claim, live
            before = await snapshot()
            return None
        return await check(**asked)

    monkeypatch.setattr(idempotency, "existing", checked_before_the_other_claimed)
    # when
    with pytest.raises(PaymentError) as caught:
        await cancel_payment(viewer=viewer, payment_id=other.id, idempotency_key=KEY)
    # then
    assert caught.value.code is PaymentErrorCode.IDEMPOTENCY_KEY_REUSED
    assert checks == 2
    assert await snapshot() == before
    assert (await Payment.get(id=other.id)).status is PaymentStatus.PROCESSING


async def test_two_cancellations_under_one_key_for_two_payments_at_once(db: str) -> None:
    viewer, bill, method_id = await _ach(SETTLES)
    payment = await _pay(viewer, bill, method_id)
    other = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=1_000, method_id=method_id, idempotency_key="ach-2"
    )

    results = await asyncio.gather(
        cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key=KEY),
        cancel_payment(viewer=viewer, payment_id=other.id, idempotency_key=KEY),
        return_exceptions=True,
    )

    [refused] = [r for r in results if isinstance(r, PaymentError)]
    [canceled] = [r for r in results if isinstance(r, Payment)]
    assert refused.code is PaymentErrorCode.IDEMPOTENCY_KEY_REUSED
    loser = other if canceled.id == payment.id else payment
    assert (await Payment.get(id=loser.id)).status is PaymentStatus.PROCESSING
    await assert_ledger()


class Unreachable(SandboxProcessor):
    async def cancel(self, *, reference: str) -> bool:
        raise ProcessorUnavailable


async def test_of_several_retries_at_once_one_takes_the_claim_over(db: str) -> None:
    viewer, _, payment = await _abandoned()
    set_clock(FixedClock(FRIDAY + timedelta(minutes=6)))
    request_hash = idempotency.fingerprint(OPERATION, {"payment": payment.id})

    taken = await asyncio.gather(
        *(
            idempotency.take_over(
                member_id=viewer.member.id, key=KEY, operation=OPERATION, request_hash=request_hash
            )
            for _ in range(5)
        )
    )

    assert len([t for t in taken if t is not None]) == 1
    record = await IdempotencyRecord.get(member_id=viewer.member.id, key=KEY)
    assert record.created_at == FRIDAY + timedelta(minutes=6)  # restamped: not abandoned now


async def test_a_takeover_that_cannot_reach_the_processor_frees_the_key(db: str) -> None:
    viewer, _, payment = await _abandoned()
    set_clock(FixedClock(FRIDAY + timedelta(minutes=6)))
    with _processor(Unreachable()), pytest.raises(PaymentError) as caught:
        await cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key=KEY)
    assert caught.value.code is PaymentErrorCode.PROCESSOR_UNAVAILABLE
    assert not await IdempotencyRecord.filter(key=KEY).exists()
    assert (await Payment.get(id=payment.id)).status is PaymentStatus.PROCESSING

    canceled = await cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key=KEY)
    assert canceled.status is PaymentStatus.CANCELED
    await assert_ledger()


async def test_a_takeover_finds_the_payment_settled_meanwhile_and_frees_the_key(db: str) -> None:
    viewer, _, payment = await _abandoned()
    await settle_due(FRIDAY + timedelta(days=5))
    set_clock(FixedClock(FRIDAY + timedelta(days=5)))

    with pytest.raises(PaymentError) as caught:
        await cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key=KEY)

    assert caught.value.code is PaymentErrorCode.PAYMENT_NOT_CANCELABLE
    assert not await IdempotencyRecord.filter(key=KEY).exists()
    assert (await Payment.get(id=payment.id)).status is PaymentStatus.SUCCEEDED
    await assert_ledger()


async def test_a_takeover_and_the_settlement_job_record_a_cancellation_once(db: str) -> None:
    viewer, bill, payment = await _abandoned()
    await get_processor().cancel(reference=str(payment.processor_reference))
    at = FRIDAY + timedelta(days=5)
    set_clock(FixedClock(at))

    retried, settled = await asyncio.gather(
        cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key=KEY), settle_due(at)
    )

    assert retried.status is PaymentStatus.CANCELED
    assert settled.canceled in ([], [payment.id])
    canceled = PaymentEventType.PAYMENT_CANCELED
    assert await OutboxEvent.filter(payment_id=payment.id, type=canceled).count() == 1
    replay = await cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key=KEY)
    assert replay.status is PaymentStatus.CANCELED
    assert (await Bill.get(id=bill.id)).amount_due == 20_000
    await assert_ledger()


class Silent(SandboxProcessor):
    async def cancel(self, *, reference: str) -> bool:
        await asyncio.sleep(10)
        return True


async def test_a_cancellation_stops_waiting_for_a_silent_processor_and_frees_its_key(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    viewer, bill, method_id = await _ach(SETTLES)
    payment = await _pay(viewer, bill, method_id)
    monkeypatch.setattr(cancellation, "CALL_TIMEOUT_SECONDS", 0.05)
    with _processor(Silent()), pytest.raises(PaymentError) as caught:
        await cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key=KEY)

    assert caught.value.code is PaymentErrorCode.PROCESSOR_UNAVAILABLE
    assert not await IdempotencyRecord.filter(key=KEY).exists()
    assert (await Payment.get(id=payment.id)).status is PaymentStatus.PROCESSING


class Hanging(SandboxProcessor):
    """Takes a cancellation and never answers."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()

    async def cancel(self, *, reference: str) -> bool:
        self.asked.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_cancellation_cut_off_at_shutdown_frees_its_key_for_a_retry(db: str) -> None:
    viewer, bill, method_id = await _ach(SETTLES)
    payment = await _pay(viewer, bill, method_id)
    processor = Hanging()
    with _processor(processor):
        asking = asyncio.ensure_future(
            cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key=KEY)
        )
        await asyncio.wait_for(processor.asked.wait(), timeout=10)
        assert await IdempotencyRecord.filter(key=KEY).exists()  # claimed, in progress

        assert await finish_in_flight(grace=0.05) == 1  # the shutdown cuts it off
        with pytest.raises(asyncio.CancelledError):
            await asking

    assert not await IdempotencyRecord.filter(key=KEY).exists()
    assert (await Payment.get(id=payment.id)).status is PaymentStatus.PROCESSING
    canceled = await cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key=KEY)
    assert canceled.status is PaymentStatus.CANCELED
    assert (await Bill.get(id=bill.id)).amount_due == 20_000
    await assert_ledger()
