"""The words of autopay's notifications: upcoming charge, failed charge, expiring card."""

from __future__ import annotations

from datetime import date

from tortoise.backends.base.client import BaseDBAsyncClient

from adapters.clock import today
from models import AutopayCharge, AutopayEnrollment, Bill, BillingAccount
from models.enums import AutopaySkipReason, NotificationKind, PaymentMethodKind
from models.money import Money
from models.notifications import Notification
from models.payments import PaymentMethod
from resolvers import notices
from resolvers.autopay_plan import PlannedCharge

_FAILURE_WORDS = {
    "CARD_DECLINED": "the card was declined",
    "INSUFFICIENT_FUNDS": "the card had insufficient funds",
    "PAYMENT_METHOD_EXPIRED": "the card has expired",
    "PROCESSOR_UNAVAILABLE": "the payment processor did not answer",
}
# Skips the member can act on, and how they read; the other skips need no word.
_SKIP_WORDS = {
    AutopaySkipReason.PAYMENT_METHOD_EXPIRED: "{method} has expired",
    AutopaySkipReason.PAYMENT_METHOD_REMOVED: "the payment method it used was removed",
    AutopaySkipReason.ACCOUNT_ON_HOLD: "the account is on hold",
    AutopaySkipReason.ACCOUNT_CLOSED: "the account is closed",
    AutopaySkipReason.NO_MINIMUM_SET: (
        "the statement sets no minimum payment, and your autopay pays the minimum due"
    ),
    AutopaySkipReason.WINDOW_MISSED: "its scheduled run did not take place before the due date",
}
TOLD_SKIPS = frozenset(_SKIP_WORDS)
_METHOD_SKIPS = {AutopaySkipReason.PAYMENT_METHOD_EXPIRED, AutopaySkipReason.PAYMENT_METHOD_REMOVED}
_RETURN_WORDS = {"R01": "insufficient funds", "R02": "account closed", "R03": "no such account"}


def describe_method(method: PaymentMethod | None) -> str:
    """How a person recognises a saved method: "Mastercard ending 4444"."""
    if method is None:
        return "your saved payment method"
    if method.kind is PaymentMethodKind.ACH:
        return f"{method.bank_name or 'bank account'} ending {method.last4}"
    brand = (method.brand or "card").replace("_", " ").title()
    return f"{brand} ending {method.last4}"


def failure_words(reason: str) -> str:
    """Why a charge failed, as a person reads it."""
    if reason.startswith("ACH_RETURN_"):
        code = reason.removeprefix("ACH_RETURN_")
        detail = _RETURN_WORDS.get(code)
        return f"the bank returned the payment ({code}{', ' + detail if detail else ''})"
    return _FAILURE_WORDS.get(reason, "the payment was declined")


def long_date(day: date) -> str:
    """A date as a person reads it: "Friday, November 20, 2026"."""
    return f"{day:%A}, {day:%B} {day.day}, {day.year}"


def upcoming(enrollment: AutopayEnrollment, run: PlannedCharge) -> notices.Notice:
    """AUTOPAY_UPCOMING: the amount, date and method of a charge; sent again if they change."""
    bill = run.bill
    amount = Money(run.amount, bill.currency).formatted
    return notices.Notice(
        member_id=enrollment.member_id,
        kind=NotificationKind.AUTOPAY_UPCOMING,
        message=(
            f"Autopay will pay {amount} on statement {bill.statement_number} on "
            f"{long_date(run.run_date)} with {describe_method(run.method)}."
        ),
        # The terms are part of the occasion: changed terms are announced again.
        dedupe_key=(
            f"AUTOPAY_UPCOMING:{enrollment.id}:{bill.id}:{run.cycle_date.isoformat()}:"
            f"{run.amount}:{run.method.id if run.method else 0}"
        ),
        bill_id=bill.id,
        account_id=bill.account_id,
        amount=run.amount,
        currency=bill.currency,
    )


def access_lost(enrollment: AutopayEnrollment, account: BillingAccount) -> notices.Notice:
    """AUTOPAY_FAILED to a member whose autopay stopped with their paying access: it names
    the account they set it up on, but no bill, which they may no longer see."""
    return notices.Notice(
        member_id=enrollment.member_id,
        kind=NotificationKind.AUTOPAY_FAILED,
        message=(
            f"Autopay on account {account.account_number} has stopped: your access to it "
            "no longer includes paying its bills."
        ),
        dedupe_key=f"AUTOPAY_ACCESS_LOST:{enrollment.id}:{enrollment.updated_at.isoformat()}",
    )


def expiring(enrollment: AutopayEnrollment, method: PaymentMethod, expires: date) -> notices.Notice:
    """PAYMENT_METHOD_EXPIRING: the card autopay charges runs out soon."""
    return notices.Notice(
        member_id=enrollment.member_id,
        kind=NotificationKind.PAYMENT_METHOD_EXPIRING,
        message=(
            f"{describe_method(method)}, which autopay uses, expires at the end of "
            f"{expires:%B} {expires.year}. Update your autopay to keep it running."
        ),
        dedupe_key=(
            f"PAYMENT_METHOD_EXPIRING:{enrollment.id}:{method.id}:{expires.year}-{expires.month}"
        ),
        account_id=enrollment.account_id,
    )


def failed_key(charge: AutopayCharge) -> str:
    """The dedupe key of the AUTOPAY_FAILED notice of a cycle's try."""
    return f"AUTOPAY_FAILED:{charge.id}:{charge.attempt}"


async def failed(
    conn: BaseDBAsyncClient,
    charge: AutopayCharge,
    *,
    reason: str,
    payment_id: int | None,
    suspended: bool,
) -> Notification:
    """AUTOPAY_FAILED, in the transaction that recorded the failure."""
    bill = await Bill.filter(id=charge.bill_id).using_db(conn).get()
    enrollment = await AutopayEnrollment.filter(id=charge.enrollment_id).using_db(conn).get()
    amount = Money(charge.amount, bill.currency).formatted
    message = f"Autopay could not pay {amount} on statement {bill.statement_number}: "
    message += failure_words(reason) + "."
    if suspended:
        message += (
            " Autopay is paused after three failed charges in a row; choose a working "
            "payment method and set it up again."
        )
    elif today() <= bill.due_date:
        message += f" Please pay this statement another way by {long_date(bill.due_date)}."
    else:
        message += f" It was due {long_date(bill.due_date)}; please pay it another way."
    notice = notices.Notice(
        member_id=enrollment.member_id,
        kind=NotificationKind.AUTOPAY_FAILED,
        message=message,
        dedupe_key=failed_key(charge),
        bill_id=bill.id,
        account_id=bill.account_id,
        payment_id=payment_id,
        amount=charge.amount,
        currency=bill.currency,
    )
    return await notices.write(conn, notice)


async def skipped(
    conn: BaseDBAsyncClient, charge: AutopayCharge, reason: AutopaySkipReason
) -> Notification | None:
    """AUTOPAY_FAILED for a cycle left unpaid for a reason in TOLD_SKIPS, once per reason.

    Call it in the transaction that recorded the skip, under the enrollment's lock.
    """
    bill = await Bill.filter(id=charge.bill_id).using_db(conn).get()
    enrollment = await AutopayEnrollment.filter(id=charge.enrollment_id).using_db(conn).get()
    method = await PaymentMethod.filter(id=enrollment.method_id).using_db(conn).first()
    owed = charge.amount or int(bill.amount_due)
    why = _SKIP_WORDS[reason].format(method=describe_method(method))
    message = (
        f"Autopay did not pay {Money(owed, bill.currency).formatted} on statement "
        f"{bill.statement_number}: {why}."
    )
    due = long_date(bill.due_date)
    if today() > bill.due_date:
        message += f" It was due {due}; please pay it now."
    elif reason in _METHOD_SKIPS:
        message += f" Choose another payment method for autopay, or pay it another way by {due}."
    else:
        message += f" Please pay it another way by {due}."
    notice = notices.Notice(
        member_id=enrollment.member_id,
        kind=NotificationKind.AUTOPAY_FAILED,
        message=message,
        dedupe_key=f"AUTOPAY_FAILED:{charge.id}:skip:{reason.value}",
        bill_id=bill.id,
        account_id=bill.account_id,
        amount=owed,
        currency=bill.currency,
    )
    return await notices.write_once(conn, notice)
