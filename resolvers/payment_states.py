"""What a payment's change of state writes besides itself: audit rows and outbox events.

Every change of a payment's status (its PENDING row in resolvers/payment_reserve.py,
every later move in resolvers/payment_moves.py) writes an outbox event and an audit
row in the same transaction as the change itself, and a succeeded payment's
PAYMENT_CONFIRMATION notification goes out with its own event.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from adapters.clock import now
from models.enums import NotificationKind, PaymentEventType, PaymentStatus
from models.money import Money
from models.payments import Payment
from resolvers.outbox import NoticeRef, record_events

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


@dataclass(frozen=True)
class Change:
    """One payment change's audit row and outbox event."""

    payment: Payment
    event: PaymentEventType
    actor_id: int | None
    audit_data: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def audit_row(self, at: datetime) -> dict[str, Any]:
        """The audit row's fields."""
        payment = self.payment
        return {
            "action": "payment." + self.event.value.removeprefix("PAYMENT_").lower(),
            "entity_type": "payment",
            "entity_id": payment.id,
            "actor_id": self.actor_id,
            "data": {"status": payment.status.value, "amount": payment.amount, **self.audit_data},
            "created_at": at,
        }

    def outbox_event(self, at: datetime) -> dict[str, Any]:
        """The outbox event's fields."""
        payment = self.payment
        return {
            "topic": PAYMENTS_TOPIC,
            "type": self.event.value,
            "account_id": payment.account_id,
            "member_id": payment.member_id,
            "payment_id": payment.id,
            "notification_id": None,
            "payload": event_payload(payment, **self.extra),
            "occurred_at": at,
        }


async def write_changes(
    conn: BaseDBAsyncClient,
    changes: Sequence[Change],
    confirmations: Sequence[Payment] = (),
) -> None:
    """The audit rows and outbox events of payment changes, and the PAYMENT_CONFIRMATION
    notifications of the succeeded `confirmations` (each after its payment's own event);
    call it last in their transaction."""
    stamp = now()
    notices = [confirmation_notice(p) | {"created_at": stamp} for p in confirmations]
    sent = {notice["payment_id"]: notice for notice in notices}
    events = []
    for change in changes:
        events.append(change.outbox_event(stamp))
        if (notice := sent.pop(change.payment.id, None)) is not None:
            events.append(_notification_event(notice, stamp))
    audit = [change.audit_row(stamp) for change in changes]
    await record_events(conn, events, audit=audit, notices=notices)


async def write_event(
    conn: BaseDBAsyncClient,
    payment: Payment,
    event: PaymentEventType,
    *,
    actor_id: int | None,
    audit_data: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """The audit row and outbox event of one payment change (call last in its transaction)."""
    await write_changes(conn, [Change(payment, event, actor_id, audit_data or {}, extra or {})])


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


def _notification_event(notice: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "topic": NOTIFICATIONS_TOPIC,
        "type": "NOTIFICATION_CREATED",
        "account_id": notice["account_id"],
        "member_id": notice["member_id"],
        "payment_id": None,
        "notification_id": NoticeRef(notice["dedupe_key"]),
        "payload": {"kind": notice["kind"].value, "payment_id": notice["payment_id"]},
        "occurred_at": at,
    }
