"""payBill at the resolver level: card outcomes, validation, access, and unchanged refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from adapters.clock import FixedClock, set_clock
from models import (
    AuditLog,
    Bill,
    BillingAccount,
    Notification,
    OutboxEvent,
    Payment,
    PaymentMethod,
    SandboxCharge,
)
from models.enums import (
    AccessRole,
    NotificationKind,
    PaymentErrorCode,
    PaymentMethodStatus,
    PaymentSource,
    PaymentStatus,
)
from resolvers.access import Viewer, load_viewer
from resolvers.errors import Forbidden
from resolvers.payments import PaymentError, pay_bill, pay_bill_decimal
from tests import factories
from tests.ledger import assert_ledger, snapshot


async def _viewer(email: str) -> Viewer:
    viewer = await load_viewer(email, "member")
    assert viewer is not None
    return viewer


async def _household(due: int = 10_000, token: str = "tok_visa") -> tuple[Viewer, Bill, int]:
    alex = await factories.member("alex@example.org")
    acct = await factories.account(alex)
    bill = await factories.bill(acct, due=due)
    method = await factories.card(alex, token=token)
    return await _viewer("alex@example.org"), bill, method.id


async def test_a_card_payment_succeeds_at_once_with_a_confirmation(db: str) -> None:
    viewer, bill, method_id = await _household()

    payment = await pay_bill_decimal(
        viewer=viewer,
        bill_id=bill.id,
        amount=Decimal("40.25"),
        method_id=method_id,
        idempotency_key="k1",
    )

    assert payment.status is PaymentStatus.SUCCEEDED
    assert payment.amount == 4025
    assert payment.confirmation_number and payment.confirmation_number.startswith("CP-")
    fresh = await Bill.get(id=bill.id)
    assert (fresh.amount_due, fresh.amount_paid, fresh.amount_pending) == (5975, 4025, 0)
    events = await OutboxEvent.filter(payment_id=payment.id).order_by("id")
    assert [e.type for e in events] == ["PAYMENT_CREATED", "PAYMENT_SUCCEEDED"]
    assert events[-1].payload == {
        "status": "SUCCEEDED",
        "amount": 4025,
        "currency": "USD",
        "kind": "CARD",
        "source": "ONE_TIME",
        "confirmation_number": payment.confirmation_number,
        "failure_code": None,
        "bill_id": bill.id,
    }
    [note] = await Notification.filter(payment_id=payment.id)
    assert note.kind is NotificationKind.PAYMENT_CONFIRMATION
    assert note.dedupe_key == f"payment:{payment.id}:confirmation"
    assert "$40.25" in note.message and payment.confirmation_number in note.message
    assert await OutboxEvent.filter(topic="notifications", notification_id=note.id).count() == 1
    actions = await AuditLog.filter(entity_id=payment.id, entity_type="payment").values_list(
        "action", flat=True
    )
    assert sorted(actions) == ["payment.created", "payment.succeeded"]
    assert await SandboxCharge.all().count() == 1
    await assert_ledger()


async def test_partial_payments_add_up_exactly_to_the_cent(db: str) -> None:
    viewer, bill, method_id = await _household(due=10_000)
    for n, cents in enumerate([3333, 3333, 3334]):
        await pay_bill(
            viewer=viewer,
            bill_id=bill.id,
            amount=cents,
            method_id=method_id,
            idempotency_key=f"p{n}",
        )
    fresh = await Bill.get(id=bill.id)
    assert (fresh.amount_due, fresh.amount_paid) == (0, 10_000)
    await assert_ledger()


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("tok_chargeDeclined", PaymentErrorCode.CARD_DECLINED),
        ("tok_chargeDeclinedInsufficientFunds", PaymentErrorCode.INSUFFICIENT_FUNDS),
        ("tok_chargeDeclinedExpiredCard", PaymentErrorCode.PAYMENT_METHOD_EXPIRED),
        ("tok_processingError", PaymentErrorCode.PROCESSOR_UNAVAILABLE),
    ],
)
async def test_a_declined_card_leaves_the_bill_as_it_was(
    db: str, token: str, code: PaymentErrorCode
) -> None:
    viewer, bill, method_id = await _household(token=token)
    before = await Bill.get(id=bill.id)

    with pytest.raises(PaymentError) as caught:
        await pay_bill(
            viewer=viewer, bill_id=bill.id, amount=2500, method_id=method_id, idempotency_key="d"
        )

    assert caught.value.code is code
    assert caught.value.payment is not None
    failed = await Payment.get(id=caught.value.payment.id)
    assert (failed.status, failed.failure_code) == (PaymentStatus.FAILED, code.value)
    assert failed.confirmation_number is None
    after = await Bill.get(id=bill.id)
    assert (after.amount_due, after.amount_paid, after.amount_pending) == (
        before.amount_due,
        before.amount_paid,
        before.amount_pending,
    )
    assert await Notification.all().count() == 0
    await assert_ledger()


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (Decimal("0"), PaymentErrorCode.INVALID_AMOUNT),
        (Decimal("-5.00"), PaymentErrorCode.INVALID_AMOUNT),
        (Decimal("10.001"), PaymentErrorCode.INVALID_AMOUNT),
        (Decimal("NaN"), PaymentErrorCode.INVALID_AMOUNT),
        (Decimal("100.01"), PaymentErrorCode.AMOUNT_EXCEEDS_BALANCE),
    ],
)
async def test_refused_amounts_change_nothing(
    db: str, amount: Decimal, code: PaymentErrorCode
) -> None:
    viewer, bill, method_id = await _household(due=10_000)
    before = await snapshot()

    with pytest.raises(PaymentError) as caught:
        await pay_bill_decimal(
            viewer=viewer, bill_id=bill.id, amount=amount, method_id=method_id, idempotency_key="a"
        )

    assert caught.value.code is code
    assert caught.value.field == ["amount"]
    assert await snapshot() == before


async def test_a_voided_or_paid_bill_is_not_payable(db: str) -> None:
    viewer, bill, method_id = await _household(due=5000)
    await pay_bill(
        viewer=viewer, bill_id=bill.id, amount=5000, method_id=method_id, idempotency_key="all"
    )
    other = await factories.bill(await BillingAccount.get(id=bill.account_id), due=700)
    await Bill.filter(id=other.id).update(voided_at=datetime(2026, 11, 2, tzinfo=UTC))
    before = await snapshot()

    for target in (bill.id, other.id):
        with pytest.raises(PaymentError) as caught:
            await pay_bill(
                viewer=viewer, bill_id=target, amount=100, method_id=method_id, idempotency_key="x"
            )
        assert caught.value.code is PaymentErrorCode.BILL_NOT_PAYABLE

    assert await snapshot() == before


async def test_proxy_view_cannot_pay_but_proxy_pay_can(db: str) -> None:
    alex = await factories.member("alex@example.org")
    acct = await factories.account(alex)
    bill = await factories.bill(acct, due=5000)
    viewer_only = await factories.member("vic@example.org")
    payer = await factories.member("sam@example.org")
    await factories.grant(viewer_only, acct, AccessRole.PROXY_VIEW)
    await factories.grant(payer, acct, AccessRole.PROXY_PAY)
    vic_card = await factories.card(viewer_only)
    sam_card = await factories.card(payer)
    before = await snapshot()

    with pytest.raises(Forbidden):
        await pay_bill(
            viewer=await _viewer("vic@example.org"),
            bill_id=bill.id,
            amount=100,
            method_id=vic_card.id,
            idempotency_key="v",
        )
    assert await snapshot() == before

    paid = await pay_bill(
        viewer=await _viewer("sam@example.org"),
        bill_id=bill.id,
        amount=100,
        method_id=sam_card.id,
        idempotency_key="s",
    )
    assert paid.status is PaymentStatus.SUCCEEDED and paid.member_id == payer.id


async def test_unknown_bills_and_other_peoples_methods_are_not_found(db: str) -> None:
    viewer, bill, method_id = await _household()
    stranger = await factories.member("eve@example.org")
    their_bill = await factories.bill(await factories.account(stranger))
    their_card = await factories.card(stranger)
    before = await snapshot()

    cases = [
        (their_bill.id, method_id, PaymentErrorCode.BILL_NOT_FOUND),
        (999_999, method_id, PaymentErrorCode.BILL_NOT_FOUND),
        (bill.id, their_card.id, PaymentErrorCode.PAYMENT_METHOD_NOT_FOUND),
    ]
    for bill_id, card_id, code in cases:
        with pytest.raises(PaymentError) as caught:
            await pay_bill(
                viewer=viewer, bill_id=bill_id, amount=100, method_id=card_id, idempotency_key="n"
            )
        assert caught.value.code is code

    assert await snapshot() == before


async def test_removed_and_expired_methods_are_refused(db: str) -> None:
    viewer, bill, method_id = await _household()
    removed = await factories.card(viewer.member)
    await PaymentMethod.filter(id=removed.id).update(status=PaymentMethodStatus.REMOVED)
    set_clock(FixedClock(datetime(2031, 1, 5, tzinfo=UTC)))  # the factory card ends 12/2030
    before = await snapshot()

    for card_id, code in [
        (removed.id, PaymentErrorCode.PAYMENT_METHOD_NOT_FOUND),
        (method_id, PaymentErrorCode.PAYMENT_METHOD_EXPIRED),
    ]:
        with pytest.raises(PaymentError) as caught:
            await pay_bill(
                viewer=viewer, bill_id=bill.id, amount=100, method_id=card_id, idempotency_key="e"
            )
        assert caught.value.code is code
    assert await snapshot() == before


async def test_autopay_pays_through_the_same_function(db: str) -> None:
    viewer, bill, method_id = await _household()
    payment = await pay_bill(
        viewer=viewer,
        bill_id=bill.id,
        amount=1000,
        method_id=method_id,
        idempotency_key="autopay:1:2026-11-20",
        source=PaymentSource.AUTOPAY,
    )
    assert payment.source is PaymentSource.AUTOPAY
    event = await OutboxEvent.filter(payment_id=payment.id).order_by("-id").first()
    assert event is not None and event.payload["source"] == "AUTOPAY"
