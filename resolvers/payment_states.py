"""Payment state changes: one guarded transition, its bill move, outbox event and audit row.

Every change of a payment's status goes through `record_created` (the PENDING row)
or `transition`, so each writes an outbox event and an audit row in the same
transaction as the change itself, and a succeeded payment always gets a
confirmation number and a PAYMENT_CONFIRMATION notification. An autopay payment's
new status reaches its autopay charge in the same transaction (resolvers/autopay_outcomes.py).
"""

from __future__ import annotations

import secrets
from enum import Enum
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from adapters.clock import now
from models.bills import Bill
from models.enums import NotificationKind, PaymentEventType, PaymentStatus
from models.money import Money
from models.notifications import Notification
from models.payments import Payment
from resolvers import autopay_outcomes, idempotency
from resolvers.outbox import audit, record_event

PAYMENTS_TOPIC = "payments"
NOTIFICATIONS_TOPIC = "notifications"

EVENT_OF: dict[PaymentStatus, PaymentEventType] = {
    PaymentStatus.PENDING: PaymentEventType.PAYMENT_CREATED,
    PaymentStatus.PROCESSING: PaymentEventType.PAYMENT_PROCESSING,
    PaymentStatus.SUCCEEDED: PaymentEventType.PAYMENT_SUCCEEDED,
    PaymentStatus.FAILED: PaymentEventType.PAYMENT_FAILED,
    PaymentStatus.CANCELED: PaymentEventType.PAYMENT_CANCELED,
    PaymentStatus.REFUNDED: PaymentEventType.PAYMENT_REFUNDED,
    PaymentStatus.RETURNED: PaymentEventType.PAYMENT_RETURNED,
}


class BillMove(Enum):
    """What a transition does to the bill's ledger."""

    NONE = "none"
    SETTLE = "settle"  # pending -> paid
    RELEASE = "release"  # pending -> due again


class LedgerError(RuntimeError):
    """A bill's ledger refused a move that the payment's state said was possible (a bug)."""


def confirmation_number(payment_id: int) -> str:
    """A receipt number: unique through the payment id, hard to guess through the suffix."""
    return f"CP-{payment_id:07d}-{secrets.token_hex(2).upper()}"


def event_payload(payment: Payment, **extra: Any) -> dict[str, Any]:
    """The outbox payload of a payment event."""
    return {
        "status": payment.status.value,
        "amount": payment.amount,
        "currency": payment.currency,
        "kind": payment.kind.value,
        "source": payment.source.value,
        "confirmation_number": payment.confirmation_number,
        "failure_code": payment.failure_code,
        "bill_id": payment.bill_id,
        **extra,
    }


async def write_event(
    conn: BaseDBAsyncClient,
    payment: Payment,
    event: PaymentEventType,
    *,
    actor_id: int | None,
    audit_data: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """The audit row and outbox event of a payment change (call last in its transaction)."""
    action = "payment." + event.value.removeprefix("PAYMENT_").lower()
    data = {"status": payment.status.value, "amount": payment.amount, **(audit_data or {})}
    await audit(
        action=action,
        entity_type="payment",
        entity_id=payment.id,
        actor_id=actor_id,
        data=data,
        using_db=conn,
    )
    await record_event(
        topic=PAYMENTS_TOPIC,
        type=event.value,
        account_id=payment.account_id,
        member_id=payment.member_id,
        payment_id=payment.id,
        payload=event_payload(payment, **(extra or {})),
        using_db=conn,
    )


async def record_created(conn: BaseDBAsyncClient, payment: Payment, *, actor_id: int) -> None:
    """The events of a new PENDING payment."""
    await write_event(conn, payment, PaymentEventType.PAYMENT_CREATED, actor_id=actor_id)


async def move_bill(conn: BaseDBAsyncClient, payment: Payment, move: BillMove) -> None:
    """Move the payment's amount between the bill's ledger columns, guarded."""
    x = payment.amount
    pending = Bill.filter(id=payment.bill_id, amount_pending__gte=x).using_db(conn)
    if move is BillMove.SETTLE:
        rows = await pending.update(
            amount_pending=F("amount_pending") - x, amount_paid=F("amount_paid") + x
        )
    elif move is BillMove.RELEASE:
        rows = await pending.update(
            amount_pending=F("amount_pending") - x, amount_due=F("amount_due") + x
        )
    else:
        return
    if rows != 1:
        raise LedgerError(f"bill {payment.bill_id} has less pending than payment {payment.id}")


def confirmation_notice(payment: Payment) -> dict[str, Any]:
    """The PAYMENT_CONFIRMATION notification of a succeeded payment, but for its times."""
    amount = Money(payment.amount, payment.currency).formatted
    return {
        "member_id": payment.member_id,
        "kind": NotificationKind.PAYMENT_CONFIRMATION,
        "message": (
            f"We received your payment of {amount}. "
            f"Confirmation number {payment.confirmation_number}."
        ),
        "bill_id": payment.bill_id,
        "account_id": payment.account_id,
        "payment_id": payment.id,
        "amount": payment.amount,
        "currency": payment.currency,
        "dedupe_key": f"payment:{payment.id}:confirmation",
    }


async def _confirm(conn: BaseDBAsyncClient, payment: Payment) -> None:
    notification = await Notification.create(
        **confirmation_notice(payment), created_at=now(), using_db=conn
    )
    await record_event(
        topic=NOTIFICATIONS_TOPIC,
        type="NOTIFICATION_CREATED",
        account_id=payment.account_id,
        member_id=payment.member_id,
        notification_id=notification.id,
        payload={"kind": notification.kind.value, "payment_id": payment.id},
        using_db=conn,
    )


async def transition(
    payment: Payment,
    *,
    expected: PaymentStatus,
    to: PaymentStatus,
    bill: BillMove,
    actor_id: int | None,
    changes: dict[str, Any] | None = None,
    idempotency_record_id: int | None = None,
) -> Payment | None:
    """Move a payment from `expected` to `to` in one transaction; None if it had moved already."""
    stamp = now()
    values: dict[str, Any] = {"status": to, "updated_at": stamp, **(changes or {})}
    if to is PaymentStatus.SUCCEEDED:
        values["confirmation_number"] = confirmation_number(payment.id)
        values.setdefault("settled_at", stamp)
    async with in_transaction() as conn:
        # The guard and the write are one statement: only one caller ever applies it.
        rows = await Payment.filter(id=payment.id, status=expected).using_db(conn).update(**values)
        if rows != 1:
            return None
        await move_bill(conn, payment, bill)
        for name, value in values.items():
            setattr(payment, name, value)
        if idempotency_record_id is not None:
            await idempotency.complete(conn, idempotency_record_id, response_of(payment))
        await write_event(
            conn, payment, EVENT_OF[to], actor_id=actor_id, audit_data={"from": expected.value}
        )
        if to is PaymentStatus.SUCCEEDED:
            await _confirm(conn, payment)
        await autopay_outcomes.payment_moved(conn, payment)
    return payment


def response_of(payment: Payment) -> dict[str, Any]:
    """What an idempotency record keeps of a payment result."""
    return {
        "payment_id": payment.id,
        "status": payment.status.value,
        "failure_code": payment.failure_code,
    }
