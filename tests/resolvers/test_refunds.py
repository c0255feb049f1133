"""Refunds by staff, in full or in part, restore the amount due."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from adapters.clock import today
from models import Bill, OutboxEvent, Payment, Refund, SandboxCharge
from models.enums import BillStatus, PaymentErrorCode, PaymentStatus
from models.ledger import bill_status, bill_status_q
from resolvers.access import Viewer, load_viewer
from resolvers.errors import Forbidden
from resolvers.payments import PaymentError, pay_bill
from resolvers.refunds import refund_payment
from tests import factories
from tests.ledger import assert_ledger, snapshot


async def _paid(
    token: str = "tok_visa", due_date: date | None = None
) -> tuple[Viewer, Viewer, Payment]:
    alex = await factories.member("alex@example.org")
    bill = await factories.bill(await factories.account(alex), due=10_000, due_date=due_date)
    card = await factories.card(alex, token=token)
    await factories.member("billing@example.org", staff=True)
    member = await load_viewer("alex@example.org", "member")
    staff = await load_viewer("billing@example.org", "staff")
    assert member is not None and staff is not None
    payment = await pay_bill(
        viewer=member, bill_id=bill.id, amount=6_000, method_id=card.id, idempotency_key="p"
    )
    return member, staff, payment


async def test_a_partial_then_full_refund_restores_the_amount_due(db: str) -> None:
    _, staff, payment = await _paid()

    partial = await refund_payment(
        viewer=staff,
        payment_id=payment.id,
        amount=Decimal("10.00"),
        reason="Duplicate visit",
        idempotency_key="r1",
    )
    assert (partial.status, partial.amount_refunded) == (PaymentStatus.SUCCEEDED, 1_000)
    assert (await Bill.get(id=payment.bill_id)).amount_due == 4_000 + 1_000

    rest = await refund_payment(
        viewer=staff, payment_id=payment.id, amount=None, reason=None, idempotency_key="r2"
    )
    assert (rest.status, rest.amount_refunded) == (PaymentStatus.REFUNDED, 6_000)
    bill = await Bill.get(id=payment.bill_id)
    assert (bill.amount_due, bill.amount_paid, bill.amount_refunded) == (10_000, 6_000, 6_000)
    assert [r.amount for r in await Refund.all().order_by("id")] == [1_000, 5_000]
    assert all(r.processor_reference for r in await Refund.all())
    assert await SandboxCharge.filter(outcome="REFUNDED").count() == 2
    events = await OutboxEvent.filter(type="PAYMENT_REFUNDED").order_by("id")
    assert [e.payload["refund_amount"] for e in events] == [1_000, 5_000]
    await assert_ledger()


async def test_a_bill_whose_only_payment_is_refunded_is_no_longer_partly_paid(db: str) -> None:
    _, staff, payment = await _paid(due_date=today() + timedelta(days=20))
    bill = await Bill.get(id=payment.bill_id)
    assert bill_status(bill, today()) is BillStatus.PARTIALLY_PAID

    await refund_payment(
        viewer=staff,
        payment_id=payment.id,
        amount=Decimal("59.99"),
        reason=None,
        idempotency_key="r",
    )
    bill = await Bill.get(id=payment.bill_id)
    assert bill_status(bill, today()) is BillStatus.PARTIALLY_PAID  # 0.01 still paid
    await refund_payment(
        viewer=staff, payment_id=payment.id, amount=None, reason=None, idempotency_key="r2"
    )

    bill = await Bill.get(id=payment.bill_id)
    assert bill_status(bill, today()) is BillStatus.ISSUED
    for status in BillStatus:
        found = await Bill.filter(bill_status_q(status, today())).values_list("id", flat=True)
        assert found == ([bill.id] if status is BillStatus.ISSUED else [])


async def test_a_refund_replays_by_key(db: str) -> None:
    _, staff, payment = await _paid()
    for _ in range(2):
        await refund_payment(
            viewer=staff,
            payment_id=payment.id,
            amount=Decimal("5"),
            reason=None,
            idempotency_key="once",
        )
    assert await Refund.all().count() == 1
    assert (await Payment.get(id=payment.id)).amount_refunded == 500


async def test_a_blank_reason_is_no_reason(db: str) -> None:
    _, staff, payment = await _paid()
    await refund_payment(
        viewer=staff, payment_id=payment.id, amount=Decimal("1"), reason="   ", idempotency_key="r"
    )
    assert [r.reason for r in await Refund.all()] == [None]


async def test_members_cannot_refund(db: str) -> None:
    member, _, payment = await _paid()
    before = await snapshot()
    with pytest.raises(Forbidden):
        await refund_payment(
            viewer=member, payment_id=payment.id, amount=None, reason=None, idempotency_key="m"
        )
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (Decimal("60.01"), PaymentErrorCode.REFUND_EXCEEDS_PAYMENT),
        (Decimal("0"), PaymentErrorCode.INVALID_AMOUNT),
        (Decimal("1.234"), PaymentErrorCode.INVALID_AMOUNT),
    ],
)
async def test_bad_refund_amounts_change_nothing(
    db: str, amount: Decimal, code: PaymentErrorCode
) -> None:
    _, staff, payment = await _paid()
    before = await snapshot()
    with pytest.raises(PaymentError) as caught:
        await refund_payment(
            viewer=staff, payment_id=payment.id, amount=amount, reason=None, idempotency_key="b"
        )
    assert caught.value.code is code
    assert await snapshot() == before


async def test_a_failed_payment_is_not_refundable(db: str) -> None:
    alex = await factories.member("alex@example.org")
    bill = await factories.bill(await factories.account(alex), due=10_000)
    card = await factories.card(alex, token="tok_chargeDeclined")
    await factories.member("billing@example.org", staff=True)
    member = await load_viewer("alex@example.org", "member")
    staff = await load_viewer("billing@example.org", "staff")
    assert member is not None and staff is not None
    with pytest.raises(PaymentError) as declined:
        await pay_bill(
            viewer=member, bill_id=bill.id, amount=100, method_id=card.id, idempotency_key="d"
        )
    assert declined.value.payment is not None
    before = await snapshot()

    with pytest.raises(PaymentError) as caught:
        await refund_payment(
            viewer=staff,
            payment_id=declined.value.payment.id,
            amount=None,
            reason=None,
            idempotency_key="f",
        )

    assert caught.value.code is PaymentErrorCode.PAYMENT_NOT_REFUNDABLE
    assert await snapshot() == before


async def test_a_refund_that_lost_a_race_runs_again(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tortoise.exceptions import OperationalError

    from resolvers import refunds

    _, staff, payment = await _paid()
    original = refunds._record
    attempts: list[int] = []

    async def losing_once(*args: object) -> Refund:
        attempts.append(1)
        if len(attempts) == 1:  # as PostgreSQL ends a deadlock: the transaction rolled back
            raise OperationalError("deadlock detected") from DeadlockDetected()
        return await original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(refunds, "_record", losing_once)
    refunded = await refund_payment(
        viewer=staff, payment_id=payment.id, amount=None, reason=None, idempotency_key="race"
    )

    assert len(attempts) == 2
    assert (refunded.status, refunded.amount_refunded) == (PaymentStatus.REFUNDED, 6_000)
    assert await Refund.all().count() == 1
    await assert_ledger()


class DeadlockDetected(Exception):
    """Stands for asyncpg's DeadlockDetectedError: what `is_transient_conflict` reads."""

    sqlstate = "40P01"
