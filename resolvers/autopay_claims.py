"""Claiming a cycle: record once, per enrollment, bill and cycle date, to charge it or why not.

One transaction that begins by writing the enrollment row (its row lock on
PostgreSQL, the write lock on SQLite, so claims for an enrollment are serial)
inserts the AutopayCharge row, unique on (enrollment, bill, cycle date): CLAIMED
with the amount to charge, or SKIPPED with the reason. A SKIPPED cycle is looked at
again on later runs in its window (the card was replaced, the hold lifted); a FAILED
one as resolvers/autopay_retry.py says, each new try numbered in `attempt`. A claim
to charge is announced (AUTOPAY_UPCOMING with its amount and method) in the same
transaction unless those terms were announced already; a skip the member can act
on is told in an AUTOPAY_FAILED notice, also in the same transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from adapters.clock import now
from models import AutopayCharge, AutopayEnrollment
from models.enums import AutopayChargeStatus, AutopaySkipReason, AutopayStatus
from resolvers import autopay_notices, autopay_outcomes, notices
from resolvers.autopay_plan import PlannedCharge
from resolvers.autopay_report import AutopayReport
from resolvers.autopay_retry import failed_with, may_retry

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
            if any(r.status in _ACTIVE_CLAIMS for r in rows):
                return None  # charged (maybe under an earlier cycle date) or being charged
            mine = next((r for r in rows if r.cycle_date == run.cycle_date), None)
            if mine is None:
                charge = await AutopayCharge.create(
                    enrollment_id=enrollment.id,
                    bill_id=run.bill.id,
                    cycle_date=run.cycle_date,
                    status=status,
                    amount=run.amount,
                    skip_reason=reason,
                    attempt=1 if status is AutopayChargeStatus.CLAIMED else 0,
                    created_at=stamp,
                    updated_at=stamp,
                    using_db=conn,
                )
            elif await _stays(conn, mine, run, current):
                return None
            else:
                charge = await _reclaim(conn, mine, run, stamp)
            notice = None
            if status is AutopayChargeStatus.CLAIMED:
                # Only announced terms are charged: announced here if the reminders were not.
                notice = await notices.write_once(conn, autopay_notices.upcoming(enrollment, run))
            elif run.skip_reason is AutopaySkipReason.NO_PAYING_ACCESS:
                notice = await autopay_outcomes.access_lost(conn, enrollment.id)
            elif run.skip_reason in autopay_notices.TOLD_SKIPS:
                notice = await autopay_notices.skipped(conn, charge, run.skip_reason)
    except IntegrityError:
        return None  # another worker inserted this cycle's row first
    report.told(notice)
    if status is AutopayChargeStatus.SKIPPED:
        log.info("autopay %s skips bill %s: %s", enrollment.id, run.bill.id, reason)
        report.skipped.append(charge.id)
        return None
    return charge


async def _stays(
    conn: BaseDBAsyncClient, mine: AutopayCharge, run: PlannedCharge, enrollment: AutopayEnrollment
) -> bool:
    """Whether this cycle's row keeps its outcome: a skip for the same reason, or a failure."""
    if mine.status is AutopayChargeStatus.SKIPPED:
        return mine.skip_reason == (run.skip_reason.value if run.skip_reason else None)
    if run.skip_reason is not None:
        return True  # failed, and would not be charged now anyway
    methods = await failed_with([mine], conn)
    return not may_retry(
        mine, methods.get(mine.payment_id or 0), enrollment.method_id, run.run_date
    )


async def _reclaim(
    conn: BaseDBAsyncClient, mine: AutopayCharge, run: PlannedCharge, stamp: datetime
) -> AutopayCharge:
    """This cycle's SKIPPED or FAILED row, claimed again (a new try) or skipped for a new reason."""
    status = AutopayChargeStatus.SKIPPED if run.skip_reason else AutopayChargeStatus.CLAIMED
    attempt = mine.attempt + 1 if status is AutopayChargeStatus.CLAIMED else mine.attempt
    values = {
        "status": status,
        "amount": run.amount,
        "skip_reason": run.skip_reason.value if run.skip_reason else None,
        "attempt": attempt,
    }
    guarded = AutopayCharge.filter(id=mine.id, status=mine.status, attempt=mine.attempt)
    if await guarded.using_db(conn).update(updated_at=stamp, **values) != 1:
        raise IntegrityError("the cycle's row moved under the enrollment's lock")
    mine.status, mine.amount, mine.skip_reason, mine.attempt = (
        status,
        run.amount,
        values["skip_reason"],
        attempt,
    )
    return mine


def _terms(enrollment: AutopayEnrollment) -> tuple[object, ...]:
    """What a planned run's amount and method were computed from."""
    e = enrollment
    return (e.method_id, e.strategy, e.fixed_amount, e.max_amount, e.days_before_due)
