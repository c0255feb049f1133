"""Windows that closed unpaid with no run at all (the scheduler was down): told once.

A bill autopay should have paid, whose due date passed without any autopay record
for it, gets a SKIPPED charge with WINDOW_MISSED (or the reason a run would have
skipped it for) and an AUTOPAY_FAILED notice, through the same claim as any skip.
Bills the enrollment did not cover yet (set up or changed after the due date) and
bills with nothing left to pay are left alone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from models import AutopayCharge, AutopayEnrollment, Bill
from models.enums import AutopaySkipReason
from resolvers.autopay_claims import claim
from resolvers.autopay_plan import BILL_REASONS, LOOK_BACK, load_terms, plan
from resolvers.autopay_report import AutopayReport


async def missed_windows(enrollment: AutopayEnrollment, today: date, report: AutopayReport) -> None:
    """Record and tell each bill whose window closed before `today` with no autopay record."""
    covered_from = enrollment.updated_at.date()
    bills = await Bill.filter(
        account_id=enrollment.account_id,
        due_date__lt=today,
        due_date__gte=max(today - LOOK_BACK, covered_from),
        voided_at__isnull=True,
        amount_due__gt=0,
    ).order_by("due_date", "id")
    if not bills:
        return
    rows = AutopayCharge.filter(enrollment_id=enrollment.id, bill_id__in=[b.id for b in bills])
    recorded = {int(row[0]) for row in await rows.values_list("bill_id")}
    terms = await load_terms(enrollment)
    for bill in bills:
        if bill.id in recorded:
            continue
        run = plan(terms, bill, bill.due_date)  # as its window's last day would have seen it
        if run.skip_reason in BILL_REASONS:
            continue
        reason = run.skip_reason or AutopaySkipReason.WINDOW_MISSED
        await claim(enrollment, replace(run, run_date=today, skip_reason=reason), report)
