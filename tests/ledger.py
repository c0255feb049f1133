"""Test support for payments: DESIGN.md's ledger invariants and whole-database snapshots."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tortoise import connections

from models import Bill, Notification, OutboxEvent, Payment, Refund, SandboxCharge
from models.enums import NotificationKind, PaymentKind, PaymentStatus
from tests.db import TABLES

SETTLED = (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED)
IN_FLIGHT = (PaymentStatus.PENDING, PaymentStatus.PROCESSING)
# What the sandbox's ledger says for each final payment status.
SANDBOX_OUTCOME = {
    (PaymentKind.CARD, PaymentStatus.SUCCEEDED): "SUCCEEDED",
    (PaymentKind.CARD, PaymentStatus.REFUNDED): "SUCCEEDED",
    (PaymentKind.ACH, PaymentStatus.PROCESSING): "PENDING",
    (PaymentKind.ACH, PaymentStatus.SUCCEEDED): "SETTLED",
    (PaymentKind.ACH, PaymentStatus.REFUNDED): "SETTLED",
    (PaymentKind.ACH, PaymentStatus.RETURNED): "RETURNED:R01",
    (PaymentKind.ACH, PaymentStatus.CANCELED): "CANCELED",
}


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, to assert that a refused mutation changed nothing."""
    conn = connections.get("default")
    return {
        table: await conn.execute_query_dict(f"SELECT * FROM {table} ORDER BY id")
        for table in TABLES
    }


async def assert_ledger() -> None:
    """DESIGN.md's ledger invariants over every bill, payment, refund and processor row."""
    payments = await Payment.all()
    by_bill: dict[int, list[Payment]] = defaultdict(list)
    for payment in payments:
        by_bill[payment.bill_id].append(payment)
    refunds = await Refund.all()
    refunded_by_payment: dict[int, int] = defaultdict(int)
    for refund in refunds:
        refunded_by_payment[refund.payment_id] += refund.amount
    for bill in await Bill.all():
        mine = by_bill[bill.id]
        paid = sum(p.amount for p in mine if p.status in SETTLED)
        pending = sum(p.amount for p in mine if p.status in IN_FLIGHT)
        refunded = sum(p.amount_refunded for p in mine)
        assert bill.patient_responsibility == (
            bill.total_charges - bill.insurance_paid - bill.adjustments
        )
        assert (bill.amount_paid, bill.amount_pending, bill.amount_refunded) == (
            paid,
            pending,
            refunded,
        ), f"bill {bill.id} columns disagree with its payments"
        assert bill.amount_due == bill.patient_responsibility - paid - pending + refunded
        assert bill.amount_due >= 0
    for payment in payments:
        assert payment.amount_refunded == refunded_by_payment[payment.id]
        assert 0 <= payment.amount_refunded <= payment.amount
        if payment.amount_refunded:
            assert payment.status in SETTLED
        assert (payment.status is PaymentStatus.REFUNDED) == (
            payment.amount_refunded == payment.amount
        )
    await _assert_processor_agrees(payments, refunds)
    await _assert_events(payments)


async def _assert_processor_agrees(payments: list[Payment], refunds: list[Refund]) -> None:
    charges = {c.idempotency_key: c for c in await SandboxCharge.all()}
    refund_rows = [c for c in charges.values() if c.outcome == "REFUNDED"]
    charge_rows = [c for c in charges.values() if c.outcome != "REFUNDED"]
    keys = {p.processor_idempotency_key for p in payments}
    assert all(c.idempotency_key in keys for c in charge_rows), "a charge without a payment"
    for payment in payments:
        charge = charges.get(payment.processor_idempotency_key)
        if payment.status is PaymentStatus.PENDING:
            continue
        assert charge is not None, f"payment {payment.id} never reached the processor"
        assert (charge.amount, charge.reference) == (payment.amount, payment.processor_reference)
        if payment.status is PaymentStatus.FAILED:
            assert charge.outcome == payment.failure_code
        else:
            assert charge.outcome == SANDBOX_OUTCOME[(payment.kind, payment.status)]
    sent = [r for r in refunds if r.processor_reference is not None]
    assert sorted(r.amount for r in refund_rows) == sorted(r.amount for r in sent)


async def _assert_events(payments: list[Payment]) -> None:
    events = await OutboxEvent.filter(topic="payments").order_by("id")
    last: dict[int, str] = {}
    for event in events:
        assert event.payment_id is not None
        last[event.payment_id] = event.payload["status"]
    ids = [e.id for e in await OutboxEvent.all().order_by("id")]
    assert ids == sorted(set(ids))
    confirmations = await Notification.filter(kind=NotificationKind.PAYMENT_CONFIRMATION)
    confirmed = {n.payment_id for n in confirmations}
    assert len(confirmed) == len(confirmations), "a payment confirmed twice"
    for payment in payments:
        assert last.get(payment.id) == payment.status.value, f"payment {payment.id} events"
        ever_succeeded = payment.confirmation_number is not None
        assert ever_succeeded == (payment.id in confirmed)
        if payment.status in SETTLED:
            assert payment.confirmation_number is not None
