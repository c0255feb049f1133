"""Idempotency keys and concurrent payments at the resolver level, on both databases."""

from __future__ import annotations

import asyncio

import pytest

from models import Bill, IdempotencyRecord, Payment, SandboxCharge
from models.enums import IdempotencyStatus, PaymentErrorCode, PaymentStatus
from resolvers.access import Viewer, load_viewer
from resolvers.payments import PaymentError, pay_bill
from tests import factories
from tests.ledger import assert_ledger, snapshot


async def _household(due: int = 10_000, token: str = "tok_visa") -> tuple[Viewer, Bill, int]:
    alex = await factories.member("alex@example.org")
    bill = await factories.bill(await factories.account(alex), due=due)
    method = await factories.card(alex, token=token)
    viewer = await load_viewer("alex@example.org", "member")
    assert viewer is not None
    return viewer, bill, method.id


async def test_a_replay_returns_the_first_payment_and_charges_once(db: str) -> None:
    viewer, bill, method_id = await _household()
    first = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=1500, method_id=method_id, idempotency_key="same"
    )
    again = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=1500, method_id=method_id, idempotency_key="same"
    )
    assert again.id == first.id and again.confirmation_number == first.confirmation_number
    assert await Payment.all().count() == 1
    assert await SandboxCharge.all().count() == 1
    assert (await Bill.get(id=bill.id)).amount_due == 8500
    record = await IdempotencyRecord.get(key="same")
    assert record.status is IdempotencyStatus.COMPLETED
    assert (record.expires_at - record.created_at).days == 30


async def test_a_replay_still_answers_after_the_bill_is_paid_in_full(db: str) -> None:
    viewer, bill, method_id = await _household(due=1500)
    first = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=1500, method_id=method_id, idempotency_key="full"
    )
    again = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=1500, method_id=method_id, idempotency_key="full"
    )
    assert again.id == first.id


async def test_the_same_key_with_other_input_is_refused_and_changes_nothing(db: str) -> None:
    viewer, bill, method_id = await _household()
    await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=1500, method_id=method_id, idempotency_key="k"
    )
    before = await snapshot()

    with pytest.raises(PaymentError) as caught:
        await pay_bill(
            viewer=viewer, bill_id=bill.id, amount=1600, method_id=method_id, idempotency_key="k"
        )

    assert caught.value.code is PaymentErrorCode.IDEMPOTENCY_KEY_REUSED
    assert await snapshot() == before


async def test_keys_belong_to_one_member(db: str) -> None:
    viewer, bill, method_id = await _household()
    sam = await factories.member("sam@example.org")
    sam_bill = await factories.bill(await factories.account(sam), due=900)
    sam_card = await factories.card(sam)
    sam_viewer = await load_viewer("sam@example.org", "member")
    assert sam_viewer is not None

    a = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=100, method_id=method_id, idempotency_key="k"
    )
    b = await pay_bill(
        viewer=sam_viewer,
        bill_id=sam_bill.id,
        amount=900,
        method_id=sam_card.id,
        idempotency_key="k",
    )
    assert a.id != b.id and b.status is PaymentStatus.SUCCEEDED


async def test_a_declined_payment_replays_its_decline_without_charging_again(db: str) -> None:
    viewer, bill, method_id = await _household(token="tok_chargeDeclined")
    codes = []
    for _ in range(2):
        with pytest.raises(PaymentError) as caught:
            await pay_bill(
                viewer=viewer, bill_id=bill.id, amount=500, method_id=method_id, idempotency_key="d"
            )
        codes.append((caught.value.code, caught.value.payment and caught.value.payment.id))
    assert codes[0] == codes[1] and codes[0][0] is PaymentErrorCode.CARD_DECLINED
    assert await SandboxCharge.all().count() == 1
    assert (await Bill.get(id=bill.id)).amount_due == 10_000


async def test_a_refused_request_does_not_consume_its_key(db: str) -> None:
    viewer, bill, method_id = await _household(due=1000)
    with pytest.raises(PaymentError):
        await pay_bill(
            viewer=viewer, bill_id=bill.id, amount=2000, method_id=method_id, idempotency_key="r"
        )
    assert await IdempotencyRecord.all().count() == 0
    paid = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=1000, method_id=method_id, idempotency_key="r"
    )
    assert paid.status is PaymentStatus.SUCCEEDED


async def test_concurrent_requests_with_one_key_make_one_payment(db: str) -> None:
    viewer, bill, method_id = await _household()

    async def attempt() -> str:
        try:
            payment = await pay_bill(
                viewer=viewer, bill_id=bill.id, amount=700, method_id=method_id, idempotency_key="c"
            )
        except PaymentError as exc:
            assert exc.code is PaymentErrorCode.PAYMENT_IN_PROGRESS
            return "in-progress"
        return f"payment {payment.id}"

    outcomes = await asyncio.gather(*(attempt() for _ in range(12)))

    [payment] = await Payment.all()
    assert set(outcomes) <= {"in-progress", f"payment {payment.id}"}
    assert f"payment {payment.id}" in outcomes
    assert await SandboxCharge.all().count() == 1
    assert (await Bill.get(id=bill.id)).amount_due == 10_000 - 700
    await assert_ledger()


async def test_ten_concurrent_payments_of_30_on_100_due_three_succeed(db: str) -> None:
    viewer, bill, method_id = await _household(due=10_000)

    async def attempt(n: int) -> PaymentErrorCode | PaymentStatus:
        try:
            return (
                await pay_bill(
                    viewer=viewer,
                    bill_id=bill.id,
                    amount=3000,
                    method_id=method_id,
                    idempotency_key=f"thirty-{n}",
                )
            ).status
        except PaymentError as exc:
            return exc.code

    outcomes = await asyncio.gather(*(attempt(n) for n in range(10)))

    assert outcomes.count(PaymentStatus.SUCCEEDED) == 3
    assert outcomes.count(PaymentErrorCode.AMOUNT_EXCEEDS_BALANCE) == 7
    fresh = await Bill.get(id=bill.id)
    assert (fresh.amount_due, fresh.amount_paid, fresh.amount_pending) == (1000, 9000, 0)
    assert await Payment.all().count() == 3
    assert await IdempotencyRecord.all().count() == 3
    await assert_ledger()


async def test_keys_reserved_for_autopay_are_refused_and_change_nothing(db: str) -> None:
    viewer, bill, method_id = await _household()
    before = await snapshot()
    with pytest.raises(PaymentError) as refused:
        await pay_bill(
            viewer=viewer,
            bill_id=bill.id,
            amount=1500,
            method_id=method_id,
            idempotency_key="autopay:1:1:2026-12-01",
        )
    assert refused.value.code is PaymentErrorCode.INVALID_INPUT
    assert "reserved for autopay" in str(refused.value)
    assert await snapshot() == before
