"""The autopay charge job: each enrollment's bill charged once per cycle, across workers.

1. Claim (resolvers/autopay_claims.py): the AutopayCharge row, unique on (enrollment,
   bill, cycle date), inserted CLAIMED with the amount to charge, or SKIPPED with the
   reason.
2. Charge: `pay_bill` as the enrolled member, with the idempotency key
   autopay:<enrollment>:<bill>:<cycle date>[:<try>], outside any transaction.
3. Record: a guarded CLAIMED -> CHARGED/FAILED/SKIPPED update; only one worker applies it.
A crash leaves a CLAIMED row; every run resumes those first with the same key, so
the payment is made at most once. A window that closed with no run at all is
recorded and told (resolvers/autopay_missed.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import datetime

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from adapters.clock import local_date, now
from models import AutopayCharge, AutopayEnrollment, Bill, IdempotencyRecord, Member, Payment
from models.enums import (
    AutopayChargeStatus,
    AutopaySkipReason,
    AutopayStatus,
    PaymentErrorCode,
    PaymentSource,
    PaymentStatus,
    Role,
)
from resolvers import autopay_notices, autopay_outcomes
from resolvers.access import load_viewer
from resolvers.autopay_claims import claim
from resolvers.autopay_missed import missed_windows
from resolvers.autopay_outcomes import FAILED_PAYMENTS
from resolvers.autopay_plan import charge_amount, due_now, enrollments_due
from resolvers.autopay_report import AutopayReport
from resolvers.autopay_retry import idempotency_key
from resolvers.errors import Forbidden
from resolvers.outbox import audit
from resolvers.payment_errors import PaymentError
from resolvers.payments import pay_bill

log = logging.getLogger(__name__)
BATCH = 500
_STILL_RUNNING = frozenset({PaymentErrorCode.PAYMENT_IN_PROGRESS})
_REFUSALS = {
    PaymentErrorCode.BILL_NOT_FOUND: AutopaySkipReason.NO_PAYING_ACCESS,  # access revoked
    PaymentErrorCode.AMOUNT_EXCEEDS_BALANCE: AutopaySkipReason.BALANCE_CHANGED,
    PaymentErrorCode.PAYMENT_METHOD_NOT_FOUND: AutopaySkipReason.PAYMENT_METHOD_REMOVED,
    PaymentErrorCode.PAYMENT_METHOD_EXPIRED: AutopaySkipReason.PAYMENT_METHOD_EXPIRED,
}


async def run_autopay(at: datetime) -> AutopayReport:
    """Finish claims left open, then charge (or skip) every cycle due on `at`'s date."""
    report = AutopayReport()
    for charge in await AutopayCharge.filter(status=AutopayChargeStatus.CLAIMED).limit(BATCH):
        await _isolated(settle(charge, report), report, charge.id)
    day = local_date(at)
    for enrollment in await enrollments_due(day):
        for run in await due_now(enrollment, day):
            claimed = await claim(enrollment, run, report)
            if claimed is not None:
                await _isolated(settle(claimed, report), report, claimed.id)
        await missed_windows(enrollment, day, report)
    log.info("%s", report)
    return report


async def _isolated(work: Awaitable[None], report: AutopayReport, charge_id: int) -> None:
    """One charge's unexpected failure is logged and left CLAIMED for the next run."""
    try:
        await work
    except Exception:
        log.exception("autopay charge %s failed unexpectedly; the next run resumes it", charge_id)
        report.errors.append(charge_id)


async def settle(charge: AutopayCharge, report: AutopayReport) -> None:
    """Pay a CLAIMED cycle (or replay its payment) and record the outcome once."""
    enrollment = await AutopayEnrollment.get(id=charge.enrollment_id)
    key = idempotency_key(enrollment.id, charge.bill_id, charge.cycle_date, charge.attempt)
    # The cycle as it stands now, skipped if its key was not asked for yet. The key is
    # read after the bill: it is claimed in the transaction that reserves the payment's
    # amount, so a bill lowered by another worker's payment under it comes with the key
    # found used (and that payment replayed), never taken for a payment by hand.
    why = await _stopped_since(enrollment, charge)
    if why is not None and not await _key_used(enrollment, key):
        await _finish(charge, AutopayChargeStatus.SKIPPED, report, reason=why.value)
        return
    member = await Member.get(id=enrollment.member_id)
    viewer = await load_viewer(member.email, Role.MEMBER.value)
    assert viewer is not None
    try:
        payment = await pay_bill(
            viewer=viewer,
            bill_id=charge.bill_id,
            amount=charge.amount,
            method_id=enrollment.method_id,
            idempotency_key=key,
            source=PaymentSource.AUTOPAY,
        )
    except Forbidden:
        no_access = AutopaySkipReason.NO_PAYING_ACCESS.value
        await _finish(charge, AutopayChargeStatus.SKIPPED, report, reason=no_access)
    except PaymentError as error:
        await _refused_or_failed(charge, enrollment, error, report)
    else:
        await _finish(charge, AutopayChargeStatus.CHARGED, report, payment=payment)


async def _stopped_since(
    enrollment: AutopayEnrollment, charge: AutopayCharge
) -> AutopaySkipReason | None:
    """Why a claimed charge is not to be made after all: its enrollment stopped, or the
    bill now asks for less (the member paid by hand since it was planned, and a minimum
    due must not be taken twice). A lower amount is planned afresh by the next run."""
    if enrollment.status is not AutopayStatus.ACTIVE:
        return AutopaySkipReason(f"ENROLLMENT_{enrollment.status.value}")
    bill = await Bill.get(id=charge.bill_id)
    fresh = charge_amount(enrollment, bill)
    if fresh >= charge.amount or bill.voided_at is not None:
        return None  # a voided bill is refused by pay_bill, and skipped for that
    return AutopaySkipReason.BALANCE_CHANGED if fresh > 0 else AutopaySkipReason.NOTHING_DUE


async def _key_used(enrollment: AutopayEnrollment, key: str) -> bool:
    return await IdempotencyRecord.filter(member_id=enrollment.member_id, key=key).exists()


async def _refused_or_failed(
    charge: AutopayCharge, enrollment: AutopayEnrollment, error: PaymentError, report: AutopayReport
) -> None:
    if error.payment is not None and error.payment.status is PaymentStatus.FAILED:
        await _finish(
            charge, AutopayChargeStatus.FAILED, report, payment=error.payment, reason=error.code
        )
    elif error.code in _STILL_RUNNING or error.payment is not None:
        report.in_progress.append(charge.id)  # the payment's own outcome is still to come
    elif error.code is PaymentErrorCode.BILL_NOT_PAYABLE:
        bill = await Bill.get(id=charge.bill_id)
        voided = bill.voided_at is not None
        why = AutopaySkipReason.BILL_VOIDED if voided else AutopaySkipReason.NOTHING_DUE
        await _finish(charge, AutopayChargeStatus.SKIPPED, report, reason=why.value)
    elif error.code in _REFUSALS:
        await _finish(charge, AutopayChargeStatus.SKIPPED, report, reason=_REFUSALS[error.code])
    else:
        log.error("autopay charge %s refused: %s %s", charge.id, error.code, error.message)
        report.errors.append(charge.id)


async def _finish(
    charge: AutopayCharge,
    to: AutopayChargeStatus,
    report: AutopayReport,
    *,
    payment: Payment | None = None,
    reason: str | None = None,
) -> None:
    """Move the charge out of CLAIMED; whoever moves it updates the enrollment and notifies."""
    async with in_transaction() as conn:
        if payment is not None:
            # The payment's row first, as its own transitions take it: a settlement or
            # return recorded meanwhile is read here, or reads this charge as CHARGED.
            locked = Payment.filter(id=payment.id).using_db(conn)
            await locked.update(updated_at=F("updated_at"))
            payment = await locked.get()
            if to is AutopayChargeStatus.CHARGED and payment.status in FAILED_PAYMENTS:
                to, reason = AutopayChargeStatus.FAILED, payment.failure_code
        moved = (
            await AutopayCharge.filter(id=charge.id, status=AutopayChargeStatus.CLAIMED)
            .using_db(conn)
            .update(
                status=to,
                payment_id=payment.id if payment else None,
                skip_reason=reason,
                updated_at=now(),
            )
        )
        if moved != 1:
            return  # another worker recorded it
        if payment is not None and payment.status is PaymentStatus.SUCCEEDED:
            await autopay_outcomes.succeeded(conn, charge)
        elif reason == AutopaySkipReason.NO_PAYING_ACCESS:
            report.told(await autopay_outcomes.access_lost(conn, charge.enrollment_id))
        elif to is AutopayChargeStatus.SKIPPED and reason in autopay_notices.TOLD_SKIPS:
            report.told(await autopay_notices.skipped(conn, charge, AutopaySkipReason(reason)))
        elif to is AutopayChargeStatus.FAILED:
            failure = await autopay_outcomes.failed(
                conn, charge, reason=reason or "", payment_id=payment.id if payment else None
            )
            report.told(failure.notice)
            if failure.suspended:
                report.suspended.append(charge.enrollment_id)
        await audit(
            action=f"autopay.{to.value.lower()}",
            entity_type="autopay_charge",
            entity_id=charge.id,
            actor_id=None,
            data={"payment_id": payment.id if payment else None, "reason": reason},
            using_db=conn,
        )
    report.outcome(to).append(charge.id)
