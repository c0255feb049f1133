"""The words of autopay's notifications: upcoming charge, failed charge, expiring card."""

from __future__ import annotations

from datetime import date

from tortoise.backends.base.client import BaseDBAsyncClient

from adapters.clock import today
from models import AutopayCharge, AutopayEnrollment, Bill
from models.enums import NotificationKind, PaymentMethodKind
from models.money import Money
from models.payments import PaymentMethod
from resolvers import notices
from resolvers.autopay_plan import PlannedCharge

_FAILURE_WORDS = {
    "CARD_DECLINED": "the card was declined",
    "INSUFFICIENT_FUNDS": "the card had insufficient funds",
    "PAYMENT_METHOD_EXPIRED": "the card has expired",
    "PROCESSOR_UNAVAILABLE": "the payment processor did not answer",
}
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
    """AUTOPAY_UPCOMING: the amount, date and method of a charge a few days ahead."""
    bill = run.bill
    amount = Money(run.amount, bill.currency).formatted
    return notices.Notice(
        member_id=enrollment.member_id,
        kind=NotificationKind.AUTOPAY_UPCOMING,
        message=(
            f"Autopay will pay {amount} on statement {bill.statement_number} on "
            f"{long_date(run.run_date)} with {describe_method(run.method)}."
        ),
        dedupe_key=f"AUTOPAY_UPCOMING:{enrollment.id}:{bill.id}:{run.cycle_date.isoformat()}",
        bill_id=bill.id,
        account_id=bill.account_id,
        amount=run.amount,
        currency=bill.currency,
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


async def failed(
    conn: BaseDBAsyncClient,
    charge: AutopayCharge,
    *,
    reason: str,
    payment_id: int | None,
    suspended: bool,
) -> None:
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
        message += " Please pay this statement another way before its due date."
    else:
        message += f" It was due {long_date(bill.due_date)}; please pay it another way."
    notice = notices.Notice(
        member_id=enrollment.member_id,
        kind=NotificationKind.AUTOPAY_FAILED,
        message=message,
        dedupe_key=f"AUTOPAY_FAILED:{charge.id}",
        bill_id=bill.id,
        account_id=bill.account_id,
        payment_id=payment_id,
        amount=charge.amount,
        currency=bill.currency,
    )
    await notices.write(conn, notice)
