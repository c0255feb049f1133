"""Ledger arithmetic of a bill: its status, derived from its amounts and the date."""

from __future__ import annotations

from datetime import date

from tortoise.expressions import F, Q

from models.bills import Bill
from models.enums import BillStatus


def bill_status(bill: Bill, today: date) -> BillStatus:
    """Where a bill stands today, from its ledger columns."""
    if bill.voided_at is not None:
        return BillStatus.VOIDED
    if bill.amount_due == 0 and bill.amount_pending == 0:
        return BillStatus.PAID
    if bill.due_date < today and bill.amount_due > 0:
        return BillStatus.OVERDUE
    if bill.amount_paid - bill.amount_refunded + bill.amount_pending > 0:
        return BillStatus.PARTIALLY_PAID  # a refund or an ACH return takes its part back
    return BillStatus.ISSUED


def bill_status_q(status: BillStatus, today: date) -> Q:
    """The same rule as `bill_status`, as a query condition."""
    open_ = Q(voided_at__isnull=True)
    paid = Q(amount_due=0, amount_pending=0)
    overdue = Q(due_date__lt=today, amount_due__gt=0)
    if status is BillStatus.VOIDED:
        return Q(voided_at__isnull=False)
    if status is BillStatus.PAID:
        return open_ & paid
    if status is BillStatus.OVERDUE:
        return open_ & ~paid & overdue
    # Refunds never exceed what was paid, so this is `bill_status`'s net sum above 0.
    started = Q(amount_paid__gt=F("amount_refunded")) | Q(amount_pending__gt=0)
    if status is BillStatus.PARTIALLY_PAID:
        return open_ & ~paid & ~overdue & started
    return open_ & ~paid & ~overdue & ~started


__all__ = ["bill_status", "bill_status_q"]
