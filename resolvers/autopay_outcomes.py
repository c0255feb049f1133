"""What a charge's outcome does to its enrollment: failures count, a success resets them.

Runs inside the transaction that records the outcome: the charge job's when it
records an attempt, and every transition of an autopay payment's own (an ACH debit
settles or is returned days after autopay recorded the cycle as charged). Both lock
the payment row before the charge row, so whichever commits second sees the other.
"""

from __future__ import annotations

from typing import NamedTuple

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from adapters.clock import now, today
from models import (
    AutopayCharge,
    AutopayEnrollment,
    Bill,
    BillingAccount,
    Notification,
    Payment,
)
from models.enums import (
    AutopayChargeStatus,
    AutopaySkipReason,
    AutopayStatus,
    PaymentSource,
    PaymentStatus,
)
from resolvers import autopay_notices, notices
from resolvers.autopay_retry import RETRYABLE, last_try
from resolvers.outbox import audit

MAX_FAILURES = 3
FAILED_PAYMENTS = frozenset({PaymentStatus.FAILED, PaymentStatus.RETURNED})


async def payment_moved(conn: BaseDBAsyncClient, payment: Payment) -> None:
    """Feed an autopay payment's new status back into the cycle recorded as charged with it."""
    if payment.source is not PaymentSource.AUTOPAY:
        return
    charged = AutopayCharge.filter(payment_id=payment.id, status=AutopayChargeStatus.CHARGED)
    if payment.status is PaymentStatus.SUCCEEDED:
        charge = await charged.using_db(conn).first()
        if charge is not None:
            await succeeded(conn, charge)
    elif payment.status in FAILED_PAYMENTS:
        reason = payment.failure_code or payment.status.value
        moved = await charged.using_db(conn).update(
            status=AutopayChargeStatus.FAILED, skip_reason=reason, updated_at=now()
        )
        if moved != 1:
            return  # not autopay's to count, or counted already
        charge = await AutopayCharge.filter(payment_id=payment.id).using_db(conn).get()
        await failed(conn, charge, reason=reason, payment_id=payment.id)
        await audit(
            action="autopay.failed",
            entity_type="autopay_charge",
            entity_id=charge.id,
            actor_id=None,
            data={"payment_id": payment.id, "reason": reason, "after": "charged"},
            using_db=conn,
        )


async def succeeded(conn: BaseDBAsyncClient, charge: AutopayCharge) -> None:
    """A payment autopay made went through: the failures in a row start over."""
    enrollment = AutopayEnrollment.filter(id=charge.enrollment_id).using_db(conn)
    await enrollment.update(consecutive_failures=0)


async def access_lost(conn: BaseDBAsyncClient, enrollment_id: int) -> Notification | None:
    """The enrolled member may no longer pay the account (a proxy revoked, say): autopay
    stops for good (CANCELED, so that their card is theirs to remove) and they are told
    once, without the bill's details. None if it had stopped already."""
    stamp = now()
    live = [AutopayStatus.ACTIVE, AutopayStatus.SUSPENDED]
    enrollment = AutopayEnrollment.filter(id=enrollment_id).using_db(conn)
    stopped = await enrollment.filter(status__in=live).update(
        status=AutopayStatus.CANCELED, canceled_at=stamp, updated_at=stamp
    )
    if stopped != 1:
        return None
    canceled = await enrollment.get()
    account = await BillingAccount.filter(id=canceled.account_id).using_db(conn).get()
    await audit(
        action="autopay.cancel",
        entity_type="autopay_enrollment",
        entity_id=canceled.id,
        actor_id=None,
        data={"status": canceled.status.value, "reason": AutopaySkipReason.NO_PAYING_ACCESS.value},
        using_db=conn,
    )
    return await notices.write_once(conn, autopay_notices.access_lost(canceled, account))


class Failure(NamedTuple):
    """What recording a failed charge did: suspended the enrollment, and the notice sent."""

    suspended: bool
    notice: Notification | None


async def failed(
    conn: BaseDBAsyncClient, charge: AutopayCharge, *, reason: str, payment_id: int | None
) -> Failure:
    """Count a failed charge, suspend autopay at MAX_FAILURES in a row, tell the member.

    A processor error is retried, not counted: the member is told only on the last try.
    """
    if reason in RETRYABLE:
        bill = await Bill.filter(id=charge.bill_id).using_db(conn).get()
        if not last_try(charge, bill, today()):
            return Failure(suspended=False, notice=None)
        notice = await autopay_notices.failed(
            conn, charge, reason=reason, payment_id=payment_id, suspended=False
        )
        return Failure(suspended=False, notice=notice)
    enrollment = AutopayEnrollment.filter(id=charge.enrollment_id)
    await enrollment.using_db(conn).update(consecutive_failures=F("consecutive_failures") + 1)
    failures = (await enrollment.using_db(conn).get()).consecutive_failures
    suspended = failures >= MAX_FAILURES and (
        await enrollment.filter(status=AutopayStatus.ACTIVE)
        .using_db(conn)
        .update(status=AutopayStatus.SUSPENDED, updated_at=now())
        == 1
    )
    notice = await autopay_notices.failed(
        conn, charge, reason=reason, payment_id=payment_id, suspended=suspended
    )
    return Failure(suspended=suspended, notice=notice)
