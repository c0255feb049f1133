"""Enrolling an account in autopay, changing the enrollment, and cancelling it.

One enrollment per account. Setting up autopay on an account that has one changes
it (and reactivates a suspended one); only the member who set it up may change it,
unless it was cancelled. Changing it starts the failure count over. A change waits
while a charge is being made, so a charge's request never changes under it.
"""

from __future__ import annotations

from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from adapters.clock import now, today
from models import AutopayCharge, AutopayEnrollment, BillingAccount
from models.enums import (
    AccountStatus,
    AutopayChargeStatus,
    AutopayErrorCode,
    AutopayStatus,
    AutopayStrategy,
    PaymentMethodStatus,
)
from models.payments import PaymentMethod
from models.validation import InvalidAmount, parse_amount
from resolvers.access import Viewer
from resolvers.autopay_plan import MAX_DAYS_BEFORE_DUE, method_expired
from resolvers.errors import DomainError
from resolvers.outbox import audit
from resolvers.payment_methods import lock_member


class AutopayError(DomainError):
    """An autopay enrollment change refused."""

    code: AutopayErrorCode

    def __init__(self, code: AutopayErrorCode, message: str, field: list[str] | None = None):
        super().__init__(code, message, field)


async def setup_autopay(
    *,
    viewer: Viewer,
    account_id: int,
    method_id: int,
    strategy: AutopayStrategy,
    fixed_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
    days_before_due: int = 3,
) -> AutopayEnrollment:
    """Enrol the account in autopay, or change its enrollment; AutopayError if refused."""
    account = await _payable_account(viewer, account_id)
    if not 0 <= days_before_due <= MAX_DAYS_BEFORE_DUE:
        raise AutopayError(
            AutopayErrorCode.INVALID_INPUT,
            f"Choose between 0 and {MAX_DAYS_BEFORE_DUE} days before the due date.",
            ["daysBeforeDue"],
        )
    fixed = _amounts(strategy, fixed_amount, account.currency)
    cap = None if max_amount is None else _minor(max_amount, account.currency, "maxAmount")
    if fixed is not None and cap is not None and cap < fixed:
        raise AutopayError(
            AutopayErrorCode.INVALID_AMOUNT,
            "The most to pay cannot be less than the fixed amount.",
            ["maxAmount"],
        )
    method = await _usable_method(viewer, method_id)
    stamp = now()
    values = {
        "member_id": viewer.member.id,
        "method_id": method.id,
        "strategy": strategy,
        "fixed_amount": fixed,
        "max_amount": cap,
        "days_before_due": days_before_due,
        "status": AutopayStatus.ACTIVE,
        "consecutive_failures": 0,
        "updated_at": stamp,
        "canceled_at": None,
    }
    async with in_transaction() as conn:
        # The first write: the method is checked again under the lock its removal takes,
        # and the same lock makes one member's setups wait for each other.
        await lock_member(conn, viewer.member.id)
        if not await _still_there(conn, method):
            raise _method_not_found()
        # Then the enrollment's write: it locks the enrollment against a concurrent claim.
        mine = AutopayEnrollment.filter(account_id=account.id).using_db(conn)
        changed = await mine.filter(member_id=viewer.member.id).update(**values)
        changed = changed or await mine.filter(status=AutopayStatus.CANCELED).update(**values)
        if changed:
            enrollment = await mine.get()
            await _not_charging(conn, enrollment)
        else:
            try:
                enrollment = await AutopayEnrollment.create(
                    account_id=account.id, created_at=stamp, using_db=conn, **values
                )
            except IntegrityError:
                raise AutopayError(
                    AutopayErrorCode.NOT_ALLOWED,
                    "Someone else set up autopay on this account; only they can change it.",
                    ["accountId"],
                ) from None
        await _audit(conn, "autopay.setup" if not changed else "autopay.change", enrollment)
    return enrollment


async def cancel_autopay(*, viewer: Viewer, account_id: int) -> AutopayEnrollment:
    """Stop autopay on the account; AutopayError if there is none or it is not the viewer's.
    Who set it up may stop it even after losing access to the account."""
    enrollment = await AutopayEnrollment.get_or_none(account_id=account_id)
    set_up_by_viewer = enrollment is not None and enrollment.member_id == viewer.member.id
    if not (viewer.can_see(account_id) or set_up_by_viewer):
        raise _account_not_found()
    if enrollment is None or enrollment.status is AutopayStatus.CANCELED:
        raise _enrollment_not_found()
    if enrollment.member_id != viewer.member.id and not viewer.is_guarantor(account_id):
        raise AutopayError(
            AutopayErrorCode.NOT_ALLOWED,
            "Only the member who set up autopay or the account's guarantor can cancel it.",
            ["accountId"],
        )
    stamp = now()
    async with in_transaction() as conn:
        live = [AutopayStatus.ACTIVE, AutopayStatus.SUSPENDED]
        rows = (
            await AutopayEnrollment.filter(id=enrollment.id, status__in=live)
            .using_db(conn)
            .update(status=AutopayStatus.CANCELED, canceled_at=stamp, updated_at=stamp)
        )
        if rows != 1:
            raise _enrollment_not_found()
        enrollment = await AutopayEnrollment.filter(id=enrollment.id).using_db(conn).get()
        await _not_charging(conn, enrollment)
        await _audit(conn, "autopay.cancel", enrollment, actor_id=viewer.member.id)
    return enrollment


async def _payable_account(viewer: Viewer, account_id: int) -> BillingAccount:
    account = await BillingAccount.get_or_none(id=account_id)
    if account is None or not viewer.can_see(account_id):
        raise _account_not_found()
    if not viewer.can_pay(account_id):
        raise AutopayError(
            AutopayErrorCode.NOT_ALLOWED,
            "Your access to this account does not include paying its bills.",
            ["accountId"],
        )
    if account.status is AccountStatus.CLOSED:
        raise AutopayError(AutopayErrorCode.NOT_ALLOWED, "This account is closed.", ["accountId"])
    return account


def _amounts(strategy: AutopayStrategy, fixed: Decimal | None, currency: str) -> int | None:
    if strategy is AutopayStrategy.FIXED_AMOUNT:
        if fixed is None:
            raise AutopayError(
                AutopayErrorCode.INVALID_AMOUNT,
                "Give the fixed amount to pay each statement.",
                ["fixedAmount"],
            )
        return _minor(fixed, currency, "fixedAmount")
    if fixed is not None:
        raise AutopayError(
            AutopayErrorCode.INVALID_INPUT,
            "Only the FIXED_AMOUNT strategy takes a fixed amount.",
            ["fixedAmount"],
        )
    return None


def _minor(amount: Decimal, currency: str, field: str) -> int:
    try:
        return parse_amount(amount, currency)
    except InvalidAmount as exc:
        message = str(exc)
        raise AutopayError(
            AutopayErrorCode.INVALID_AMOUNT, message[:1].upper() + message[1:] + ".", [field]
        ) from None


async def _not_charging(conn: BaseDBAsyncClient, enrollment: AutopayEnrollment) -> None:
    """Refuse a change (rolling back its transaction) while a charge is being made: the
    charge would go through with the terms it was claimed with, whatever the change said."""
    claimed = AutopayCharge.filter(enrollment_id=enrollment.id, status=AutopayChargeStatus.CLAIMED)
    if await claimed.using_db(conn).exists():
        raise AutopayError(
            AutopayErrorCode.CHARGE_IN_PROGRESS,
            "Autopay is charging this account right now. Try again in a minute.",
        )


async def _still_there(conn: BaseDBAsyncClient, method: PaymentMethod) -> bool:
    live = PaymentMethod.filter(id=method.id, status__not=PaymentMethodStatus.REMOVED)
    return await live.using_db(conn).exists()


async def _usable_method(viewer: Viewer, method_id: int) -> PaymentMethod:
    method = await PaymentMethod.get_or_none(id=method_id, member_id=viewer.member.id)
    if method is None or method.status is PaymentMethodStatus.REMOVED:
        raise _method_not_found()
    if method_expired(method, today()):
        raise AutopayError(
            AutopayErrorCode.PAYMENT_METHOD_EXPIRED,
            "This card has expired. Choose another payment method.",
            ["paymentMethodId"],
        )
    return method


def _method_not_found() -> AutopayError:
    return AutopayError(
        AutopayErrorCode.PAYMENT_METHOD_NOT_FOUND,
        "There is no such payment method.",
        ["paymentMethodId"],
    )


def _account_not_found() -> AutopayError:
    return AutopayError(
        AutopayErrorCode.ACCOUNT_NOT_FOUND, "There is no such account.", ["accountId"]
    )


def _enrollment_not_found() -> AutopayError:
    return AutopayError(
        AutopayErrorCode.ENROLLMENT_NOT_FOUND,
        "This account is not enrolled in autopay.",
        ["accountId"],
    )


async def _audit(
    conn: BaseDBAsyncClient,
    action: str,
    enrollment: AutopayEnrollment,
    *,
    actor_id: int | None = None,
) -> None:
    await audit(
        action=action,
        entity_type="autopay_enrollment",
        entity_id=enrollment.id,
        actor_id=actor_id if actor_id is not None else enrollment.member_id,
        data={
            "status": enrollment.status.value,
            "strategy": enrollment.strategy.value,
            "method_id": enrollment.method_id,
            "days_before_due": enrollment.days_before_due,
        },
        using_db=conn,
    )
