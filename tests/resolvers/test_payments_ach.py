"""ACH payments: PROCESSING until settlement, then SUCCEEDED or RETURNED; cancel before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.clock import FixedClock, set_clock
from adapters.processor import get_processor
from models import Bill, Notification, OutboxEvent, Payment
from models.enums import AccessRole, BankAccountType, PaymentErrorCode, PaymentKind, PaymentStatus
from resolvers.access import Viewer, load_viewer
from resolvers.cancellation import cancel_payment
from resolvers.errors import Forbidden
from resolvers.payment_methods import BankAccount, add_bank_account
from resolvers.payments import PaymentError, pay_bill
from resolvers.settlement import settle_due
from tests import factories
from tests.ledger import assert_ledger, snapshot

# Friday 2026-11-20 10:00 UTC: two banking days later is Tuesday 2026-11-24.
FRIDAY = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SETTLES = "000123456789"
RETURNS = "000111111116"


async def _ach(account_number: str) -> tuple[Viewer, Bill, int]:
    set_clock(FixedClock(FRIDAY))
    alex = await factories.member("alex@example.org")
    bill = await factories.bill(await factories.account(alex), due=20_000)
    viewer = await load_viewer("alex@example.org", "member")
    assert viewer is not None
    bank = BankAccount("110000000", account_number, BankAccountType.CHECKING, "Alex Rivera")
    method = await add_bank_account(viewer=viewer, account=bank)
    return viewer, bill, method.id


async def _pay(viewer: Viewer, bill: Bill, method_id: int, key: str = "ach") -> Payment:
    return await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=12_000, method_id=method_id, idempotency_key=key
    )


async def test_an_ach_payment_processes_then_settles_after_two_business_days(db: str) -> None:
    viewer, bill, method_id = await _ach(SETTLES)

    payment = await _pay(viewer, bill, method_id)

    assert (payment.kind, payment.status) == (PaymentKind.ACH, PaymentStatus.PROCESSING)
    assert payment.settle_after == FRIDAY + timedelta(days=4)  # over the weekend
    assert payment.confirmation_number is None
    fresh = await Bill.get(id=bill.id)
    assert (fresh.amount_due, fresh.amount_pending) == (8_000, 12_000)

    early = await settle_due(FRIDAY + timedelta(days=3))
    assert (
        early.settled == []
        and (await Payment.get(id=payment.id)).status is PaymentStatus.PROCESSING
    )

    set_clock(FixedClock(FRIDAY + timedelta(days=4, hours=1)))
    report = await settle_due(FRIDAY + timedelta(days=4, hours=1))

    assert report.settled == [payment.id]
    settled = await Payment.get(id=payment.id)
    assert settled.status is PaymentStatus.SUCCEEDED and settled.confirmation_number
    assert settled.settled_at == FRIDAY + timedelta(days=4, hours=1)
    fresh = await Bill.get(id=bill.id)
    assert (fresh.amount_due, fresh.amount_pending, fresh.amount_paid) == (8_000, 0, 12_000)
    assert await Notification.filter(payment_id=payment.id).count() == 1
    assert (await settle_due(FRIDAY + timedelta(days=10))).settled == []
    await assert_ledger()


async def test_a_returned_ach_payment_restores_the_amount_due(db: str) -> None:
    viewer, bill, method_id = await _ach(RETURNS)
    payment = await _pay(viewer, bill, method_id)

    report = await settle_due(FRIDAY + timedelta(days=5))

    assert report.returned == [payment.id]
    returned = await Payment.get(id=payment.id)
    assert (returned.status, returned.failure_code) == (PaymentStatus.RETURNED, "ACH_RETURN_R01")
    fresh = await Bill.get(id=bill.id)
    assert (fresh.amount_due, fresh.amount_pending, fresh.amount_paid) == (20_000, 0, 0)
    types = (
        await OutboxEvent.filter(payment_id=payment.id)
        .order_by("id")
        .values_list("type", flat=True)
    )
    assert types == ["PAYMENT_CREATED", "PAYMENT_PROCESSING", "PAYMENT_RETURNED"]
    assert await Notification.all().count() == 0
    await assert_ledger()


async def test_a_processing_ach_payment_can_be_canceled_before_settlement(db: str) -> None:
    viewer, bill, method_id = await _ach(SETTLES)
    payment = await _pay(viewer, bill, method_id)

    canceled = await cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key="c1")
    replay = await cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key="c1")

    assert canceled.status is PaymentStatus.CANCELED and replay.id == canceled.id
    assert (await Bill.get(id=bill.id)).amount_due == 20_000
    assert (await settle_due(FRIDAY + timedelta(days=9))).settled == []
    assert (await Payment.get(id=payment.id)).status is PaymentStatus.CANCELED
    await assert_ledger()


async def test_a_proxy_cancels_only_their_own_payments_and_the_guarantor_any(db: str) -> None:
    alex, bill, alex_bank = await _ach(SETTLES)
    sam_member = await factories.member("sam@example.org")
    await factories.grant(sam_member, await bill.account, AccessRole.PROXY_PAY)
    sam = await load_viewer("sam@example.org", "member")
    assert sam is not None
    bank = BankAccount("110000000", SETTLES, BankAccountType.CHECKING, "Sam Lee")
    sam_bank = (await add_bank_account(viewer=sam, account=bank)).id
    alex_paid = await _pay(alex, bill, alex_bank, key="alex")
    sam_paid = await pay_bill(
        viewer=sam, bill_id=bill.id, amount=5_000, method_id=sam_bank, idempotency_key="sam"
    )
    before = await snapshot()

    with pytest.raises(Forbidden):
        await cancel_payment(viewer=sam, payment_id=alex_paid.id, idempotency_key="c")
    assert await snapshot() == before

    mine = await cancel_payment(viewer=sam, payment_id=sam_paid.id, idempotency_key="c")
    assert mine.status is PaymentStatus.CANCELED
    sam_again = await pay_bill(
        viewer=sam, bill_id=bill.id, amount=2_000, method_id=sam_bank, idempotency_key="sam2"
    )
    theirs = await cancel_payment(viewer=alex, payment_id=sam_again.id, idempotency_key="c")
    assert theirs.status is PaymentStatus.CANCELED  # the guarantor cancels the proxy's
    await assert_ledger()


async def test_a_settled_or_card_payment_cannot_be_canceled(db: str) -> None:
    viewer, bill, method_id = await _ach(SETTLES)
    ach = await _pay(viewer, bill, method_id)
    await settle_due(FRIDAY + timedelta(days=5))
    card = await factories.card(viewer.member)
    card_payment = await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=100, method_id=card.id, idempotency_key="card"
    )
    before = await snapshot()

    for payment_id in (ach.id, card_payment.id):
        with pytest.raises(PaymentError) as caught:
            await cancel_payment(viewer=viewer, payment_id=payment_id, idempotency_key="late")
        assert caught.value.code is PaymentErrorCode.PAYMENT_NOT_CANCELABLE
    assert await snapshot() == before


async def test_cancel_loses_cleanly_to_a_settlement_that_came_first(db: str) -> None:
    viewer, bill, method_id = await _ach(SETTLES)
    payment = await _pay(viewer, bill, method_id)
    # The processor settled it, but our settlement job has not recorded that yet.
    await get_processor().settlement(reference=str(payment.processor_reference))
    before = await snapshot()

    with pytest.raises(PaymentError) as caught:
        await cancel_payment(viewer=viewer, payment_id=payment.id, idempotency_key="race")

    assert caught.value.code is PaymentErrorCode.PAYMENT_NOT_CANCELABLE
    assert await snapshot() == before
    await settle_due(FRIDAY + timedelta(days=5))
    assert (await Payment.get(id=payment.id)).status is PaymentStatus.SUCCEEDED
    await assert_ledger()
