"""Claiming a cycle: record once, per enrollment, bill and cycle date, to charge it or why not.

One transaction that begins by writing the enrollment row (its row lock on
PostgreSQL, the write lock on SQLite, so claims for an enrollment are serial)
inserts the AutopayCharge row, unique on (enrollment, bill, cycle date): CLAIMED
with the amount to charge, or SKIPPED with the reason. A SKIPPED cycle is looked at
again on later runs in its window (the card was replaced, the hold lifted). A claim
to charge is announced (AUTOPAY_UPCOMING with its amount and method) in the same
transaction unless those terms were announced already; a skip the member can act
on is told in an AUTOPAY_FAILED notice, also in the same transaction.
"""

from __future__ import annotations

import logging

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from adapters.clock import now
from models import AutopayCharge, AutopayEnrollment
from models.enums import AutopayChargeStatus, AutopayStatus
from resolvers import autopay_notices, notices
from resolvers.autopay_plan import PlannedCharge
from resolvers.autopay_report import AutopayReport

log = logging.getLogger(__name__)
_ACTIVE_CLAIMS = (AutopayChargeStatus.CLAIMED, AutopayChargeStatus.CHARGED)


async def claim(
    enrollment: AutopayEnrollment, run: PlannedCharge, report: AutopayReport
) -> AutopayCharge | None:
    """Record this cycle's decision once; the CLAIMED row to charge, or None."""
    status = AutopayChargeStatus.SKIPPED if run.skip_reason else AutopayChargeStatus.CLAIMED
    reason = run.skip_reason.value if run.skip_reason else None
    stamp = now()
    try:
        async with in_transaction() as conn:
            locked = (
                await AutopayEnrollment.filter(id=enrollment.id, status=AutopayStatus.ACTIVE)
                .using_db(conn)
                .update(consecutive_failures=F("consecutive_failures"))
            )
            if locked != 1:
                return None  # canceled or suspended since we read it
            current = await AutopayEnrollment.filter(id=enrollment.id).using_db(conn).get()
            if _terms(current) != _terms(enrollment):
                return None  # changed since it was planned: the next run plans it afresh
            rows = await AutopayCharge.filter(
                enrollment_id=enrollment.id, bill_id=run.bill.id
            ).using_db(conn)
            if any(r.status in _ACTIVE_CLAIMS for r in rows) or any(
                r.cycle_date == run.cycle_date and r.status is not AutopayChargeStatus.SKIPPED
                for r in rows
            ):
                return None  # charged (maybe under an earlier cycle date) or being charged
            mine = next((r for r in rows if r.cycle_date == run.cycle_date), None)
            values = {"status": status, "amount": run.amount, "skip_reason": reason}
            if mine is None:
                charge = await AutopayCharge.create(
                    enrollment_id=enrollment.id,
                    bill_id=run.bill.id,
                    cycle_date=run.cycle_date,
                    created_at=stamp,
                    updated_at=stamp,
                    using_db=conn,
                    **values,
                )
            elif mine.skip_reason == reason:
                return None  # skipped before, for the same reason
            else:
                await (
                    AutopayCharge.filter(id=mine.id, status=AutopayChargeStatus.SKIPPED)
                    .using_db(conn)
                    .update(updated_at=stamp, **values)
                )
                charge = mine
                charge.status, charge.amount, charge.skip_reason = status, run.amount, reason
            if status is AutopayChargeStatus.CLAIMED:
                # Only announced terms are charged: announced here if the reminders were not.
                await notices.write_once(conn, autopay_notices.upcoming(enrollment, run))
            elif run.skip_reason in autopay_notices.TOLD_SKIPS:
                await autopay_notices.skipped(conn, charge, run.skip_reason)
    except IntegrityError:
        return None  # another worker inserted this cycle's row first
    if status is AutopayChargeStatus.SKIPPED:
        log.info("autopay %s skips bill %s: %s", enrollment.id, run.bill.id, reason)
        report.skipped.append(charge.id)
        return None
    return charge


def _terms(enrollment: AutopayEnrollment) -> tuple[object, ...]:
    """What a planned run's amount and method were computed from."""
    e = enrollment
    return (e.method_id, e.strategy, e.fixed_amount, e.max_amount, e.days_before_due)
