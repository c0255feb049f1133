"""One line per thing a scheduler run did: each ACH settlement, autopay charge or skip, notice."""

from __future__ import annotations

from models import AutopayCharge, Bill, Notification, Payment
from models.enums import AutopayChargeStatus
from models.money import Money
from resolvers.scheduler import RunReport

_OUTCOMES = {
    AutopayChargeStatus.CHARGED: "charged",
    AutopayChargeStatus.FAILED: "failed",
    AutopayChargeStatus.SKIPPED: "skipped",
    AutopayChargeStatus.CLAIMED: "in progress",
}


async def digest(report: RunReport) -> list[str]:
    """The run's settlements, autopay charges and skips, then its notices, one line each."""
    paid: list[int] = []
    tried: list[int] = []
    told: list[int] = []
    if (settled := report.settlement) is not None:
        paid += [*settled.settled, *settled.returned, *settled.canceled]
    if (autopay := report.autopay) is not None:
        tried += [*autopay.charged, *autopay.failed, *autopay.skipped, *autopay.in_progress]
        told += autopay.notices
    if report.reminders is not None:
        told += report.reminders.notices
    payments = await Payment.filter(id__in=paid).order_by("id")
    charges = await AutopayCharge.filter(id__in=tried).order_by("id")
    notices = await Notification.filter(id__in=told).order_by("id")
    bill_ids = {p.bill_id for p in payments} | {c.bill_id for c in charges}
    bill_ids |= {n.bill_id for n in notices if n.bill_id is not None}
    bills = {bill.id: bill for bill in await Bill.filter(id__in=sorted(bill_ids))}

    def line(what: str, bill_id: int | None, amount: int | None, outcome: str) -> str:
        bill = bills.get(bill_id or 0)
        statement = bill.statement_number if bill else "-"
        money = Money(amount, bill.currency).formatted if bill and amount else "-"
        return f"  {what:<7} {statement:<12} {money:>11}  {outcome}"

    lines = [
        line("ach", p.bill_id, p.amount, p.status.value.lower() + _why(p.failure_code))
        for p in payments
    ]
    for c in charges:
        tries = f" (try {c.attempt})" if c.attempt > 1 else ""
        outcome = _OUTCOMES[c.status] + _why(c.skip_reason) + tries
        lines.append(line("autopay", c.bill_id, c.amount, outcome))
    for n in notices:
        lines.append(line("notice", n.bill_id, n.amount, f"{n.kind.value} to member {n.member_id}"))
    return lines


def _why(reason: str | None) -> str:
    return f": {reason}" if reason else ""
