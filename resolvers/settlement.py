"""Jobs the scheduler runs: ACH settlement and the reconciler of unfinished work.

Both are safe to run on every worker at once and to repeat: the processor answers
the same way for the same key or reference, and each state change is a guarded
transition that only one caller applies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.processor import ProcessorUnavailable, SettlementOutcome, get_processor
from models.enums import PaymentStatus
from models.payments import Payment, PaymentMethod, Refund
from resolvers import idempotency
from resolvers.payment_ledger import transition
from resolvers.payment_states import BillMove
from resolvers.payments import apply_charge_result
from resolvers.refunds import send_refund

log = logging.getLogger(__name__)
BATCH = 500
# A payment still PENDING this long after it was recorded lost its request (a crash,
# a timeout): the reconciler asks the processor again with the same key.
RECONCILE_AFTER = timedelta(minutes=5)


@dataclass
class SettlementReport:
    """What one settlement run did, by payment id."""

    settled: list[int] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)
    canceled: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"ACH settlement: {len(self.settled)} settled, {len(self.returned)} returned, "
            f"{len(self.canceled)} canceled, {len(self.pending)} still pending"
        )


@dataclass
class ReconcileReport:
    """What one reconciler run finished."""

    payments: dict[int, str] = field(default_factory=dict)  # payment id -> status now
    refunds: list[int] = field(default_factory=list)
    unreachable: list[int] = field(default_factory=list)
    expired_keys: int = 0

    def __str__(self) -> str:
        return (
            f"reconcile: {len(self.payments)} stale payment(s) finished, "
            f"{len(self.refunds)} refund(s) sent, {len(self.unreachable)} left for later, "
            f"{self.expired_keys} expired idempotency key(s) removed"
        )


async def settle_due(at: datetime) -> SettlementReport:
    """Ask the processor about every ACH payment due to settle by `at`, and record the answer."""
    report = SettlementReport()
    due = (
        await Payment.filter(status=PaymentStatus.PROCESSING, settle_after__lte=at)
        .order_by("settle_after", "id")
        .limit(BATCH)
    )
    processor = get_processor()
    for payment in due:
        if payment.processor_reference is None:
            continue
        try:
            result = await processor.settlement(reference=payment.processor_reference)
        except ProcessorUnavailable:
            report.pending.append(payment.id)
            continue
        if result.outcome is SettlementOutcome.SETTLED:
            await _move(payment, PaymentStatus.SUCCEEDED, BillMove.SETTLE, {})
            report.settled.append(payment.id)
        elif result.outcome is SettlementOutcome.RETURNED:
            changes: dict[str, object] = {
                "failure_code": f"ACH_RETURN_{result.return_code or 'R01'}",
                "failure_message": result.message or "The bank returned the payment.",
            }
            await _move(payment, PaymentStatus.RETURNED, BillMove.RELEASE, changes)
            report.returned.append(payment.id)
        elif result.outcome is SettlementOutcome.CANCELED:
            await _move(payment, PaymentStatus.CANCELED, BillMove.RELEASE, {})
            report.canceled.append(payment.id)
        else:
            report.pending.append(payment.id)
    log.info("%s", report)
    return report


async def _move(
    payment: Payment, to: PaymentStatus, bill: BillMove, changes: dict[str, object]
) -> None:
    await transition(
        payment,
        expected=PaymentStatus.PROCESSING,
        to=to,
        bill=bill,
        actor_id=None,
        changes=changes,
    )


async def reconcile(
    at: datetime, *, older_than: timedelta = RECONCILE_AFTER, keys_until: datetime | None = None
) -> ReconcileReport:
    """Finish payments left PENDING and refunds not yet sent, and drop the keys expired by
    `keys_until` (by `at` if None)."""
    report = ReconcileReport()
    cutoff = at - older_than
    processor = get_processor()
    stale = (
        await Payment.filter(status=PaymentStatus.PENDING, created_at__lte=cutoff)
        .order_by("id")
        .limit(BATCH)
    )
    for payment in stale:
        method = await PaymentMethod.get_or_none(id=payment.method_id)
        if method is None:
            log.error("payment %s has no method left to charge; needs an operator", payment.id)
            report.unreachable.append(payment.id)
            continue
        try:
            result = await processor.charge(
                idempotency_key=payment.processor_idempotency_key,
                token=method.processor_token,
                amount=payment.amount,
                currency=payment.currency,
            )
        except ProcessorUnavailable:
            report.unreachable.append(payment.id)
            continue
        finished = await apply_charge_result(payment, result)
        report.payments[payment.id] = finished.status.value
    await _send_refunds(report, cutoff)
    report.expired_keys = await idempotency.purge_expired(before=keys_until or at)
    log.info("%s", report)
    return report


async def _send_refunds(report: ReconcileReport, cutoff: datetime) -> None:
    unsent = await Refund.filter(processor_reference__isnull=True, created_at__lte=cutoff).limit(
        BATCH
    )
    for refund in unsent:
        if await send_refund(refund):
            report.refunds.append(refund.id)
        else:
            report.unreachable.append(refund.payment_id)
