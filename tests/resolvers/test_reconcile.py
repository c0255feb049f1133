"""Crashes between recording a payment and hearing from the processor are reconciled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from tortoise.transactions import in_transaction

from adapters.clock import FixedClock, set_clock
from adapters.processor import (
    ChargeResult,
    ProcessorUnavailable,
    RefundResult,
    get_processor,
    set_processor,
)
from adapters.sandbox import SandboxProcessor
from models import (
    Bill,
    IdempotencyRecord,
    Notification,
    OutboxEvent,
    Payment,
    Refund,
    SandboxCharge,
)
from models.enums import PaymentErrorCode, PaymentStatus
from resolvers.access import Viewer, load_viewer
from resolvers.payments import PaymentError, pay_bill
from resolvers.refunds import refund_payment
from resolvers.settlement import reconcile
from tests import factories
from tests.ledger import assert_ledger

NOON = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


class Crash(BaseException):
    """The process died: nothing after this point ran."""


class Faulty(SandboxProcessor):
    """The sandbox, failing on purpose around a charge or a refund."""

    def __init__(self, *, charge_fault: str | None = None, refund_down: bool = False) -> None:
        self.charge_fault = charge_fault
        self.refund_down = refund_down
        self.hold: asyncio.Event | None = None
        self.held = 0
        self.first_held = asyncio.Event()
        self.two_held = asyncio.Event()

    async def charge(
        self, *, idempotency_key: str, token: str, amount: int, currency: str
    ) -> ChargeResult:
        if self.charge_fault == "before":
            raise Crash
        if self.charge_fault == "timeout":
            raise ProcessorUnavailable("timed out")
        result = await super().charge(
            idempotency_key=idempotency_key, token=token, amount=amount, currency=currency
        )
        if self.hold is not None:
            self.held += 1
            (self.first_held if self.held == 1 else self.two_held).set()
            await self.hold.wait()
        if self.charge_fault == "after":
            raise Crash
        return result

    async def refund(
        self, *, idempotency_key: str, reference: str, amount: int, currency: str
    ) -> RefundResult:
        if self.refund_down:
            raise ProcessorUnavailable("down")
        return await super().refund(
            idempotency_key=idempotency_key, reference=reference, amount=amount, currency=currency
        )


@pytest.fixture
async def faulty(db: str) -> AsyncIterator[Faulty]:
    processor = Faulty()
    set_processor(processor)
    set_clock(FixedClock(NOON))
    try:
        yield processor
    finally:
        set_processor(None)


async def _household(token: str = "tok_visa") -> tuple[Viewer, Bill, int]:
    alex = await factories.member("alex@example.org")
    bill = await factories.bill(await factories.account(alex), due=10_000)
    card = await factories.card(alex, token=token)
    viewer = await load_viewer("alex@example.org", "member")
    assert viewer is not None
    return viewer, bill, card.id


async def _pay(viewer: Viewer, bill: Bill, method_id: int) -> Payment:
    return await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=2_500, method_id=method_id, idempotency_key="k"
    )


@pytest.mark.parametrize("moment", ["before", "after"])
async def test_a_crash_around_the_processor_call_is_finished_exactly_once(
    faulty: Faulty, moment: str
) -> None:
    viewer, bill, method_id = await _household()
    faulty.charge_fault = moment
    with pytest.raises(Crash):
        await _pay(viewer, bill, method_id)
    faulty.charge_fault = None
    [stuck] = await Payment.all()
    assert stuck.status is PaymentStatus.PENDING
    assert (await Bill.get(id=bill.id)).amount_pending == 2_500

    with pytest.raises(PaymentError) as caught:
        await _pay(viewer, bill, method_id)
    assert caught.value.code is PaymentErrorCode.PAYMENT_IN_PROGRESS

    assert (await reconcile(NOON + timedelta(minutes=1))).payments == {}
    report = await reconcile(NOON + timedelta(minutes=10))

    assert report.payments == {stuck.id: "SUCCEEDED"}
    assert await SandboxCharge.all().count() == 1
    assert (await reconcile(NOON + timedelta(minutes=20))).payments == {}
    replay = await _pay(viewer, bill, method_id)
    assert replay.id == stuck.id and replay.status is PaymentStatus.SUCCEEDED
    assert (await Bill.get(id=bill.id)).amount_due == 7_500
    await assert_ledger()


async def test_a_processor_timeout_leaves_the_payment_pending_until_reconciled(
    faulty: Faulty,
) -> None:
    viewer, bill, method_id = await _household(token="tok_chargeDeclined")
    faulty.charge_fault = "timeout"

    with pytest.raises(PaymentError) as caught:
        await _pay(viewer, bill, method_id)

    assert caught.value.code is PaymentErrorCode.PROCESSOR_UNAVAILABLE
    assert caught.value.payment is not None
    assert caught.value.payment.status is PaymentStatus.PENDING
    faulty.charge_fault = None
    report = await reconcile(NOON + timedelta(minutes=6))
    assert report.payments == {caught.value.payment.id: "FAILED"}
    assert (await Bill.get(id=bill.id)).amount_due == 10_000
    await assert_ledger()


async def test_the_reconciler_and_a_slow_request_apply_the_outcome_once(faulty: Faulty) -> None:
    viewer, bill, method_id = await _household()
    faulty.hold = asyncio.Event()
    slow = asyncio.create_task(_pay(viewer, bill, method_id))
    await asyncio.wait_for(faulty.first_held.wait(), timeout=10)
    reconciling = asyncio.create_task(reconcile(NOON + timedelta(minutes=10)))
    # Both have charged (the same key) and wait to record the outcome.
    await asyncio.wait_for(faulty.two_held.wait(), timeout=10)
    faulty.hold.set()
    payment, report = await asyncio.wait_for(asyncio.gather(slow, reconciling), timeout=10)

    assert report.payments == {payment.id: "SUCCEEDED"}
    types = await OutboxEvent.filter(payment_id=payment.id).values_list("type", flat=True)
    assert sorted(types) == ["PAYMENT_CREATED", "PAYMENT_SUCCEEDED"]
    assert await Notification.all().count() == 1
    await assert_ledger()


async def test_a_refund_the_processor_missed_is_sent_by_the_reconciler(faulty: Faulty) -> None:
    viewer, bill, method_id = await _household()
    payment = await _pay(viewer, bill, method_id)
    await factories.member("billing@example.org", staff=True)
    staff = await load_viewer("billing@example.org", "staff")
    assert staff is not None
    faulty.refund_down = True

    refunded = await refund_payment(
        viewer=staff,
        payment_id=payment.id,
        amount=Decimal("5.00"),
        reason=None,
        idempotency_key="r",
    )

    assert refunded.amount_refunded == 500
    [refund] = await Refund.all()
    assert refund.processor_reference is None
    faulty.refund_down = False
    report = await reconcile(NOON + timedelta(minutes=10))
    assert report.refunds == [refund.id]
    assert (await Refund.get(id=refund.id)).processor_reference is not None
    await assert_ledger()


async def test_keys_are_kept_thirty_days_then_purged(faulty: Faulty) -> None:
    viewer, bill, method_id = await _household()
    await _pay(viewer, bill, method_id)
    assert (await reconcile(NOON + timedelta(days=29))).expired_keys == 0
    assert (await reconcile(NOON + timedelta(days=31))).expired_keys == 1
    assert await IdempotencyRecord.all().count() == 0


async def test_the_processor_refuses_to_run_inside_a_transaction(db: str) -> None:
    with pytest.raises(RuntimeError, match="inside a database transaction"):
        async with in_transaction():
            await get_processor().charge(
                idempotency_key="x", token="tok_visa", amount=100, currency="USD"
            )
    assert await SandboxCharge.all().count() == 0
