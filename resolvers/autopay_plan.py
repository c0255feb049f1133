"""When, how much and with what autopay charges a bill, or why it leaves it alone.

The one home of the rule, shared by `nextRun` and the charge job. A bill's cycle
date is `days_before_due` days before its due date, moved to the next business
day, or to the business day before when the next one is after the due date; it is
charged on the first scheduler run on or after that date (and never before the day
it is planned on), up to its due date. The amount is the lesser of
the strategy's amount, the enrollment's cap and what is due (due already excludes
pending payments).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from models import AccountAccess, AutopayCharge, AutopayEnrollment, Bill, BillingAccount
from models.enums import (
    AccountStatus,
    AutopayChargeStatus,
    AutopaySkipReason,
    AutopayStatus,
    AutopayStrategy,
    PaymentMethodStatus,
)
from models.payments import PaymentMethod
from resolvers.access import PAYING_ROLES
from resolvers.autopay_retry import failed_with, may_retry
from resolvers.business_days import next_business_day, previous_business_day

# How long after its due date a bill is still looked at (a missed window is told once).
LOOK_BACK = timedelta(days=7)
MAX_DAYS_BEFORE_DUE = 20
# Reasons that belong to the bill, not to the enrollment: nextRun looks past them.
BILL_REASONS = frozenset({AutopaySkipReason.NOTHING_DUE, AutopaySkipReason.BILL_VOIDED})


@dataclass(frozen=True)
class Terms:
    """What an enrollment's charges depend on besides the bill."""

    enrollment: AutopayEnrollment
    account: BillingAccount
    method: PaymentMethod | None
    can_pay: bool


@dataclass(frozen=True)
class PlannedCharge:
    """One bill's autopay run: its cycle date, the day it runs, amount, method, skip reason."""

    bill: Bill
    cycle_date: date
    run_date: date
    amount: int
    method: PaymentMethod | None
    skip_reason: AutopaySkipReason | None


def cycle_date(due_date: date, days_before_due: int) -> date:
    """The business day autopay charges a bill due on `due_date`, never after that date."""
    day = due_date - timedelta(days=days_before_due)
    later = next_business_day(day)
    return later if later <= due_date else previous_business_day(day)


def strategy_amount(enrollment: AutopayEnrollment, bill: Bill) -> int:
    """What the enrollment's strategy asks to pay on this bill, before cap and balance."""
    due = int(bill.amount_due)
    if enrollment.strategy is AutopayStrategy.FIXED_AMOUNT:
        return int(enrollment.fixed_amount or 0)
    if enrollment.strategy is AutopayStrategy.MINIMUM_DUE:
        paid_or_pending = int(bill.patient_responsibility) - due
        return max(0, int(bill.minimum_due) - paid_or_pending)
    return due


def charge_amount(enrollment: AutopayEnrollment, bill: Bill) -> int:
    """The lesser of the strategy's amount, the cap and the amount due."""
    amounts = [strategy_amount(enrollment, bill), int(bill.amount_due)]
    if enrollment.max_amount is not None:
        amounts.append(int(enrollment.max_amount))
    return max(0, min(amounts))


def method_expired(method: PaymentMethod, on: date) -> bool:
    """Whether a card is past its expiry month on `on` (cards expire after their last month)."""
    if method.status is PaymentMethodStatus.EXPIRED:
        return True
    if method.exp_year is None:
        return False
    return (method.exp_year, method.exp_month or 12) < (on.year, on.month)


def skip_reason(terms: Terms, bill: Bill, amount: int, on: date) -> AutopaySkipReason | None:
    """Why the charge would not be made on `on`, or None if it would."""
    enrollment, method = terms.enrollment, terms.method
    if enrollment.status is AutopayStatus.CANCELED:
        return AutopaySkipReason.ENROLLMENT_CANCELED
    if enrollment.status is AutopayStatus.SUSPENDED:
        return AutopaySkipReason.ENROLLMENT_SUSPENDED
    if bill.voided_at is not None:
        return AutopaySkipReason.BILL_VOIDED
    if terms.account.status is AccountStatus.ON_HOLD:
        return AutopaySkipReason.ACCOUNT_ON_HOLD
    if terms.account.status is AccountStatus.CLOSED:
        return AutopaySkipReason.ACCOUNT_CLOSED
    if not terms.can_pay:
        return AutopaySkipReason.NO_PAYING_ACCESS
    if method is None or method.status is PaymentMethodStatus.REMOVED:
        return AutopaySkipReason.PAYMENT_METHOD_REMOVED
    if method_expired(method, on):
        return AutopaySkipReason.PAYMENT_METHOD_EXPIRED
    if amount <= 0 and _no_minimum(enrollment, bill):
        return AutopaySkipReason.NO_MINIMUM_SET
    if amount <= 0:
        return AutopaySkipReason.NOTHING_DUE
    return None


def _no_minimum(enrollment: AutopayEnrollment, bill: Bill) -> bool:
    """Whether a MINIMUM_DUE enrollment meets a bill that owes money but sets no minimum."""
    strategy = enrollment.strategy is AutopayStrategy.MINIMUM_DUE
    return strategy and int(bill.minimum_due) <= 0 and int(bill.amount_due) > 0


def plan(terms: Terms, bill: Bill, today: date) -> PlannedCharge:
    """The bill's autopay run as of `today`."""
    cycle = cycle_date(bill.due_date, terms.enrollment.days_before_due)
    run_date = max(cycle, today)
    amount = charge_amount(terms.enrollment, bill)
    return PlannedCharge(
        bill=bill,
        cycle_date=cycle,
        run_date=run_date,
        amount=amount,
        method=terms.method,
        skip_reason=skip_reason(terms, bill, amount, run_date),
    )


async def load_terms(enrollment: AutopayEnrollment) -> Terms:
    """The account, method and paying access an enrollment's charges depend on."""
    account = await BillingAccount.get(id=enrollment.account_id)
    method = await PaymentMethod.get_or_none(id=enrollment.method_id)
    can_pay = await AccountAccess.filter(
        member_id=enrollment.member_id,
        account_id=enrollment.account_id,
        revoked_at__isnull=True,
        role__in=list(PAYING_ROLES),
    ).exists()
    return Terms(enrollment=enrollment, account=account, method=method, can_pay=can_pay)


async def enrollments_due(today: date, *, ahead: int = 0) -> list[AutopayEnrollment]:
    """Active enrollments with a bill whose cycle may fall by `ahead` days after `today`."""
    query = AutopayEnrollment.filter(
        status=AutopayStatus.ACTIVE,
        account__bills__due_date__gte=today - LOOK_BACK,
        account__bills__due_date__lte=today + timedelta(days=MAX_DAYS_BEFORE_DUE + ahead),
    )
    return await query.distinct().order_by("id")


async def open_bills(enrollment: AutopayEnrollment, today: date) -> list[Bill]:
    """The account's bills whose autopay window has not closed by `today` (due today or later)."""
    query = Bill.filter(account_id=enrollment.account_id, due_date__gte=today)
    return await query.order_by("due_date", "id")


async def due_now(enrollment: AutopayEnrollment, today: date) -> list[PlannedCharge]:
    """The runs whose window contains `today`: what the charge job must settle today."""
    terms = await load_terms(enrollment)
    runs = [plan(terms, bill, today) for bill in await open_bills(enrollment, today)]
    return [run for run in runs if run.cycle_date <= today]


async def started_bills(enrollment: AutopayEnrollment, bills: list[Bill], today: date) -> set[int]:
    """Which of the bills autopay has charged, is charging, or failed on for good (skips aside)."""
    rows = await AutopayCharge.filter(
        enrollment_id=enrollment.id, bill_id__in=[b.id for b in bills]
    ).exclude(status=AutopayChargeStatus.SKIPPED)
    methods = await failed_with(rows)
    return {
        row.bill_id
        for row in rows
        if not may_retry(row, methods.get(row.payment_id or 0), enrollment.method_id, today)
    }


async def next_run(enrollment: AutopayEnrollment, today: date) -> PlannedCharge | None:
    """The next bill autopay will charge (or skip, and why); None if no bill is ahead."""
    bills = await open_bills(enrollment, today)
    started = await started_bills(enrollment, bills, today)
    terms = await load_terms(enrollment)
    runs = [plan(terms, bill, today) for bill in bills if bill.id not in started]
    runs.sort(key=lambda run: (run.run_date, run.bill.id))
    for run in runs:
        if run.skip_reason not in BILL_REASONS:
            return run
    return runs[0] if runs else None
