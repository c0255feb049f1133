"""Windows that closed unpaid with no run at all (the scheduler was down): told once.

A bill autopay should have paid, whose due date passed without any autopay record
for it, gets a SKIPPED charge with WINDOW_MISSED (or the reason a run would have
skipped it for) and an AUTOPAY_FAILED notice, through the same claim as any skip.
A processor error whose retries the window closed on is told the same way. Bills
the enrollment did not cover yet (set up or changed after the due date) and bills
with nothing left to pay are left alone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from adapters.clock import local_date
from models import AutopayCharge, AutopayEnrollment, Bill, Notification
from models.enums import AutopayChargeStatus, AutopaySkipReason
from resolvers import autopay_notices
from resolvers.autopay_claims import claim
from resolvers.autopay_plan import BILL_REASONS, LOOK_BACK, load_terms, plan
from resolvers.autopay_report import AutopayReport
from resolvers.autopay_retry import RETRYABLE


async def missed_windows(enrollment: AutopayEnrollment, today: date, report: AutopayReport) -> None:
    """Record and tell each bill whose window closed before `today` with no autopay record."""
    covered_from = local_date(enrollment.updated_at)
    bills = await Bill.filter(
        account_id=enrollment.account_id,
        due_date__lt=today,
        due_date__gte=max(today - LOOK_BACK, covered_from),
        voided_at__isnull=True,
        amount_due__gt=0,
    ).order_by("due_date", "id")
    if not bills:
        return
    rows = await AutopayCharge.filter(
        enrollment_id=enrollment.id, bill_id__in=[b.id for b in bills]
    ).order_by("id")
    terms = await load_terms(enrollment)
    for bill in bills:
        mine = [r for r in rows if r.bill_id == bill.id]
        if mine:
            await _tell_last_try(mine, report)
            continue
        run = plan(terms, bill, bill.due_date)  # as its window's last day would have seen it
        if run.skip_reason in BILL_REASONS:
            continue
        reason = run.skip_reason or AutopaySkipReason.WINDOW_MISSED
        await claim(enrollment, replace(run, run_date=today, skip_reason=reason), report)


async def _tell_last_try(rows: list[AutopayCharge], report: AutopayReport) -> None:
    """A processor error whose retry the window closed on, told if its last try did not."""
    last = rows[-1]
    retried = last.status is AutopayChargeStatus.FAILED and last.skip_reason in RETRYABLE
    if not retried or await Notification.exists(dedupe_key=autopay_notices.failed_key(last)):
        return
    reason = str(last.skip_reason)
    try:
        async with in_transaction() as conn:
            notice = await autopay_notices.failed(
                conn, last, reason=reason, payment_id=last.payment_id, suspended=False
            )
    except IntegrityError:
        return  # another worker told it
    report.told(notice)
