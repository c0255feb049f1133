"""Writing one drafted demo payment as the service would have left it.

The payment in its final state, the sandbox processor's row for it, its refund,
its autopay charge, its confirmation notification, and the outbox events and
audit rows of every state it passed through, at their historic times.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models import AutopayCharge, Bill, Payment
from models.enums import AutopayChargeStatus, PaymentKind, PaymentStatus
from models.payments import Refund, SandboxCharge
from resolvers.demo_journal import Ledger
from resolvers.demo_story import PaymentDraft, RefundDraft
from resolvers.payment_states import (
    EVENT_OF,
    NOTIFICATIONS_TOPIC,
    PAYMENTS_TOPIC,
    confirmation_notice,
    event_payload,
)

NOTIFICATION_CREATED = "NOTIFICATION_CREATED"


def _sandbox_outcome(draft: PaymentDraft) -> str:
    if draft.status is PaymentStatus.FAILED:
        return draft.failure_code or "CARD_DECLINED"
    if not draft.is_bank:
        return "SUCCEEDED"
    return "PENDING" if draft.status is PaymentStatus.PROCESSING else "SETTLED"


def _steps(draft: PaymentDraft) -> list[tuple[PaymentStatus, datetime]]:
    """Each status the payment passed through, with when."""
    created = draft.created_at
    steps = [(PaymentStatus.PENDING, created)]
    if draft.is_bank:
        steps.append((PaymentStatus.PROCESSING, created + timedelta(seconds=1)))
    if draft.succeeded_at is not None:
        steps.append((PaymentStatus.SUCCEEDED, draft.succeeded_at))
    if draft.status is PaymentStatus.FAILED:
        steps.append((PaymentStatus.FAILED, created + timedelta(seconds=1)))
    if draft.refund is not None:
        steps.append((PaymentStatus.REFUNDED, draft.refund.at))
    return steps


async def write_payment(
    conn: BaseDBAsyncClient, ledger: Ledger, bill: Bill, draft: PaymentDraft
) -> Payment:
    """Insert a drafted payment with everything the service writes alongside it."""
    method = ledger.methods[draft.method]
    steps = _steps(draft)
    refunded = draft.refund.amount if draft.refund else 0
    payment = await Payment.create(
        bill_id=bill.id,
        account_id=bill.account_id,
        member_id=ledger.members[draft.payer].id,
        method_id=method.id,
        amount=draft.amount,
        amount_refunded=refunded,
        currency=bill.currency,
        status=draft.status,
        kind=PaymentKind.ACH if draft.is_bank else PaymentKind.CARD,
        source=draft.source,
        processor_reference=("py_" if draft.is_bank else "ch_") + ledger.token(12),
        processor_idempotency_key=ledger.next_key(),
        failure_code=draft.failure_code,
        failure_message=draft.failure_message,
        created_at=draft.created_at,
        updated_at=steps[-1][1],
        settle_after=draft.settle_after,
        settled_at=draft.succeeded_at,
        using_db=conn,
    )
    if draft.succeeded_at is not None:
        payment.confirmation_number = f"CP-{payment.id:07d}-{ledger.token(2).upper()}"
        await payment.save(update_fields=["confirmation_number"], using_db=conn)
    ledger.sandbox.append(
        SandboxCharge(
            idempotency_key=payment.processor_idempotency_key,
            token=method.processor_token,
            amount=payment.amount,
            currency=payment.currency,
            outcome=_sandbox_outcome(draft),
            reference=payment.processor_reference,
            created_at=draft.created_at,
        )
    )
    refund = None if draft.refund is None else await _refund(conn, ledger, payment, draft.refund)
    _journal(ledger, payment, steps, refund)
    if draft.succeeded_at is not None:
        _confirm(ledger, payment, draft.succeeded_at)
    if draft.cycle_date is not None and ledger.enrollment_id is not None:
        ledger.autopay.append(
            AutopayCharge(
                enrollment_id=ledger.enrollment_id,
                bill_id=bill.id,
                cycle_date=draft.cycle_date,
                status=AutopayChargeStatus.CHARGED,
                amount=payment.amount,
                payment_id=payment.id,
                created_at=draft.created_at,
                updated_at=steps[-1][1],
            )
        )
    return payment


def _journal(
    ledger: Ledger,
    payment: Payment,
    steps: list[tuple[PaymentStatus, datetime]],
    refund: Refund | None,
) -> None:
    previous: PaymentStatus | None = None
    for status, at in steps:
        event = EVENT_OF[status]
        payload: dict[str, Any] = {
            **event_payload(payment),
            "status": status.value,
            "confirmation_number": None
            if status in (PaymentStatus.PENDING, PaymentStatus.PROCESSING, PaymentStatus.FAILED)
            else payment.confirmation_number,
            "failure_code": payment.failure_code if status is PaymentStatus.FAILED else None,
        }
        data: dict[str, Any] = {"status": status.value, "amount": payment.amount}
        if previous is not None:
            data["from"] = previous.value
        actor = payment.member_id if status is PaymentStatus.PENDING else None
        if status is PaymentStatus.REFUNDED and refund is not None:
            actor = ledger.members["billing"].id
            details = {"refund_id": refund.id, "refund_amount": refund.amount}
            payload |= {**details, "amount_refunded": payment.amount_refunded}
            data |= {**details, "reason": refund.reason}
        ledger.journal.audit(
            at,
            action="payment." + event.value.removeprefix("PAYMENT_").lower(),
            entity_type="payment",
            entity_id=payment.id,
            actor_id=actor,
            data=data,
        )
        ledger.journal.event(
            at,
            topic=PAYMENTS_TOPIC,
            type=event.value,
            account_id=payment.account_id,
            member_id=payment.member_id,
            payment_id=payment.id,
            payload=payload,
        )
        previous = status


def _confirm(ledger: Ledger, payment: Payment, at: datetime) -> None:
    notice = confirmation_notice(payment)
    ledger.journal.notice(
        at,
        {**notice, "read_at": ledger.read_at(at)},
        {
            "topic": NOTIFICATIONS_TOPIC,
            "type": NOTIFICATION_CREATED,
            "account_id": payment.account_id,
            "member_id": payment.member_id,
            "payload": {"kind": notice["kind"].value, "payment_id": payment.id},
        },
    )


async def _refund(
    conn: BaseDBAsyncClient, ledger: Ledger, payment: Payment, draft: RefundDraft
) -> Refund:
    refund = await Refund.create(
        payment_id=payment.id,
        staff_id=ledger.members["billing"].id,
        amount=draft.amount,
        reason=draft.reason,
        processor_reference="re_" + ledger.token(12),
        created_at=draft.at,
        using_db=conn,
    )
    ledger.sandbox.append(
        SandboxCharge(
            idempotency_key=f"refund-{refund.id}",
            token=f"refund:{payment.processor_reference}",
            amount=refund.amount,
            currency=payment.currency,
            outcome="REFUNDED",
            reference=refund.processor_reference,
            created_at=draft.at,
        )
    )
    return refund
