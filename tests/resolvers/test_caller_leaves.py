"""A payment, cancellation or refund whose caller leaves mid-request still finishes at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from adapters.clock import FixedClock, set_clock
from adapters.processor import ChargeResult, RefundResult, set_processor
from adapters.sandbox import SandboxProcessor
from models import Bill, Notification, Payment, Refund, SandboxCharge
from models.enums import BankAccountType, PaymentStatus
from resolvers.access import Viewer, load_viewer
from resolvers.cancellation import cancel_payment
from resolvers.errors import Forbidden
from resolvers.payment_methods import BankAccount, add_bank_account
from resolvers.payments import pay_bill
from resolvers.refunds import refund_payment
from resolvers.settlement import reconcile
from resolvers.to_the_end import finish_in_flight, in_flight, to_the_end
from tests import factories
from tests.ledger import assert_ledger

NOON = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
LEAVES = ["at once", "while the processor answers"]


class Held(SandboxProcessor):
    """The sandbox, answering only once `hold` is set, while `holding`."""

    def __init__(self) -> None:
        self.holding = False
        self.hold = asyncio.Event()
        self.called = asyncio.Event()

    async def charge(
        self, *, idempotency_key: str, token: str, amount: int, currency: str
    ) -> ChargeResult:
        result = await super().charge(
            idempotency_key=idempotency_key, token=token, amount=amount, currency=currency
        )
        await self._wait()
        return result

    async def cancel(self, *, reference: str) -> bool:
        canceled = await super().cancel(reference=reference)
        await self._wait()
        return canceled

    async def refund(
        self, *, idempotency_key: str, reference: str, amount: int, currency: str
    ) -> RefundResult:
        result = await super().refund(
            idempotency_key=idempotency_key, reference=reference, amount=amount, currency=currency
        )
        await self._wait()
        return result

    async def _wait(self) -> None:
        if self.holding:
            self.called.set()
            await self.hold.wait()


@pytest.fixture
async def held(db: str) -> AsyncIterator[Held]:
    processor = Held()
    set_processor(processor)
    set_clock(FixedClock(NOON))
    try:
        yield processor
    finally:
        processor.hold.set()  # a test that failed midway leaves nothing running
        await finish_in_flight(10)
        set_processor(None)


async def _leave(held: Held, leaves: str, request: Coroutine[Any, Any, Payment]) -> None:
    """Start the request, cancel its caller at the moment named, then let the processor
    answer; the request must then finish within the shutdown grace, with no one waiting."""
    held.holding = True
    caller = asyncio.create_task(request)
    await asyncio.sleep(0)  # the caller has handed the work to a task of its own
    if leaves != "at once":
        await asyncio.wait_for(held.called.wait(), timeout=10)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await asyncio.sleep(0.05)
    assert in_flight() == 1  # still running, waiting for the processor
    held.hold.set()
    assert await finish_in_flight(10) == 0
    held.holding = False


async def _member() -> tuple[Viewer, Bill]:
    alex = await factories.member("alex@example.org")
    bill = await factories.bill(await factories.account(alex), due=10_000)
    viewer = await load_viewer("alex@example.org", "member")
    assert viewer is not None
    return viewer, bill


@pytest.mark.parametrize("leaves", LEAVES)
async def test_a_payment_whose_caller_leaves_is_charged_and_recorded(
    held: Held, leaves: str
) -> None:
    viewer, bill = await _member()
    card = await factories.card(viewer.member)

    def pay() -> Coroutine[Any, Any, Payment]:
        return pay_bill(
            viewer=viewer, bill_id=bill.id, amount=2_500, method_id=card.id, idempotency_key="k"
        )

    await _leave(held, leaves, pay())

    [payment] = await Payment.all()
    assert payment.status is PaymentStatus.SUCCEEDED and payment.confirmation_number
    assert await SandboxCharge.all().count() == 1
    assert await Notification.all().count() == 1
    assert (await reconcile(NOON + timedelta(minutes=10))).payments == {}
    replay = await pay()
    assert replay.id == payment.id and replay.status is PaymentStatus.SUCCEEDED
    assert (await Bill.get(id=bill.id)).amount_due == 7_500
    await assert_ledger()


@pytest.mark.parametrize("leaves", LEAVES)
async def test_a_cancellation_whose_caller_leaves_is_recorded(held: Held, leaves: str) -> None:
    viewer, bill = await _member()
    bank = BankAccount("110000000", "000123456789", BankAccountType.CHECKING, "Alex Rivera")
    method = await add_bank_account(viewer=viewer, account=bank)
    payment = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=4_000, method_id=method.id, idempotency_key="p"
    )
    assert payment.status is PaymentStatus.PROCESSING

    await _leave(
        held, leaves, cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key="c")
    )

    assert (await Payment.get(id=payment.id)).status is PaymentStatus.CANCELED
    assert (await Bill.get(id=bill.id)).amount_due == 10_000
    await assert_ledger()


@pytest.mark.parametrize("leaves", LEAVES)
async def test_a_refund_whose_caller_leaves_is_sent_and_recorded(held: Held, leaves: str) -> None:
    viewer, bill = await _member()
    card = await factories.card(viewer.member)
    payment = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=6_000, method_id=card.id, idempotency_key="p"
    )
    await factories.member("billing@example.org", staff=True)
    staff = await load_viewer("billing@example.org", "staff")
    assert staff is not None

    refund = refund_payment(
        viewer=staff,
        payment_id=payment.id,
        amount=Decimal("10.00"),
        reason=None,
        idempotency_key="r",
    )
    await _leave(held, leaves, refund)

    [sent] = await Refund.all()
    assert sent.amount == 1_000 and sent.processor_reference
    assert await SandboxCharge.filter(outcome="REFUNDED").count() == 1
    assert (await Payment.get(id=payment.id)).amount_refunded == 1_000
    await assert_ledger()


async def test_a_fault_is_logged_when_no_caller_is_left_to_hear_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = asyncio.Event()

    async def fails(error: Exception) -> None:
        started.set()
        await asyncio.sleep(0.01)
        raise error

    for error in (RuntimeError("the database went away"), Forbidden("not yours")):
        started.clear()
        caller = asyncio.create_task(to_the_end(fails(error)))
        await started.wait()
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        assert await finish_in_flight(10) == 0

    faults = [r for r in caplog.records if r.name == "resolvers.to_the_end"]
    assert [r.levelname for r in faults] == ["ERROR"]  # the refusal is an answer, not a fault
    assert faults[0].exc_info is not None and "database went away" in str(faults[0].exc_info[1])


def test_shutdown_waits_only_for_its_own_event_loop() -> None:
    release = asyncio.Event()

    async def waits() -> None:
        await release.wait()

    other = asyncio.new_event_loop()
    try:
        request = other.create_task(to_the_end(waits()))
        other.run_until_complete(asyncio.sleep(0.01))  # its tracked task waits on `other`
        assert asyncio.run(finish_in_flight(10)) == 0  # at once, not after 10 s
        release.set()
        other.run_until_complete(request)
        assert other.run_until_complete(finish_in_flight(0.01)) == 0
    finally:
        other.close()


async def test_shutdown_cuts_off_a_request_that_outlives_the_grace() -> None:
    started = asyncio.Event()
    unwound: list[str] = []

    async def slow() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            unwound.append("unwound")

    caller = asyncio.create_task(to_the_end(slow()))
    await started.wait()

    assert await finish_in_flight(0.05) == 1
    assert unwound == ["unwound"] and in_flight() == 0  # done before the database closes
    with pytest.raises(asyncio.CancelledError):
        await caller
