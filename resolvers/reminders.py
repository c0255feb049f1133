"""Reminders, each sent once: a notification with a unique dedupe key plus its outbox event.

The key names the occasion (kind, bill or enrollment, recipient, the day it was
meant for), so a reminder missed while the scheduler was down is sent late, once,
and one sent by any worker is never sent again.
"""

from __future__ import annotations

import calendar
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from adapters.clock import local_date
from models import AccountAccess, AutopayEnrollment, Bill, Notification
from models.enums import AutopayStatus, NotificationKind
from models.money import Money
from models.payments import PaymentMethod
from resolvers import autopay_notices
from resolvers.access import PAYING_ROLES
from resolvers.autopay_notices import long_date
from resolvers.autopay_plan import (
    PlannedCharge,
    enrollments_due,
    load_terms,
    open_bills,
    plan,
    started_bills,
)
from resolvers.notices import Notice, send_once
from settings import Settings

log = logging.getLogger(__name__)
# How late a missed overdue notice or new-statement notice is still worth sending.
CATCH_UP = timedelta(days=7)
_CHUNK = 500


@dataclass
class ReminderReport:
    """How many notifications of each kind one run sent."""

    sent: Counter[NotificationKind] = field(default_factory=Counter)
    notices: list[int] = field(default_factory=list)  # notification ids

    def __str__(self) -> str:
        kinds = ", ".join(f"{kind.value} {n}" for kind, n in sorted(self.sent.items()))
        return f"reminders: {self.sent.total()} sent" + (f" ({kinds})" if kinds else "")


async def send_reminders(at: datetime, *, settings: Settings) -> ReminderReport:
    """Send every reminder due on `at`'s date that no run has sent yet."""
    today = local_date(at)
    candidates = [
        *await due_soon(today, settings.reminder_days),
        *await overdue(today),
        *await statements_available(today),
        *await autopay_upcoming(today, settings.autopay_notice_days),
        *await cards_expiring(today, settings.card_expiry_notice_days),
    ]
    report = ReminderReport()
    for notice in await _unsent(candidates):
        notification = await send_once(notice)
        if notification is not None:
            report.sent[notice.kind] += 1
            report.notices.append(notification.id)
    log.info("%s", report)
    return report


async def due_soon(today: date, offsets: Sequence[int]) -> list[Notice]:
    """BILL_DUE_SOON for unpaid bills due within the largest offset (the nearest occasion).

    A bill autopay will pay says how much autopay will pay, and when.
    """
    if not offsets:
        return []
    bills = await _unpaid(due_date__gt=today, due_date__lte=today + timedelta(days=max(offsets)))
    autopay = await _planned_charges(bills, today)
    occasions = []
    for bill in bills:
        days_left = (bill.due_date - today).days
        offset = min(k for k in offsets if k >= days_left)
        amount = Money(bill.amount_due, bill.currency).formatted
        due = long_date(bill.due_date)
        message = f"Statement {bill.statement_number} is due {due}: {amount}."
        run = autopay.get(bill.id)
        if run is not None and run.amount == bill.amount_due:
            message = (
                f"Autopay will pay {amount} on {long_date(run.run_date)} for statement "
                f"{bill.statement_number}, due {due}."
            )
        elif run is not None:
            paying = Money(run.amount, bill.currency).formatted
            message += f" Autopay will pay {paying} of it on {long_date(run.run_date)}."
        occasions.append((bill, message, bill.due_date - timedelta(days=offset)))
    return await _to_payers(NotificationKind.BILL_DUE_SOON, occasions)


async def _planned_charges(bills: Sequence[Bill], today: date) -> dict[int, PlannedCharge]:
    """The autopay charge planned for each bill that autopay will pay, by bill id."""
    accounts = {bill.account_id for bill in bills}
    enrollments = await AutopayEnrollment.filter(
        account_id__in=sorted(accounts), status=AutopayStatus.ACTIVE
    )
    planned = {}
    for enrollment in enrollments:
        mine = [bill for bill in bills if bill.account_id == enrollment.account_id]
        started = await started_bills(enrollment, mine, today)
        terms = await load_terms(enrollment)
        for bill in mine:
            run = plan(terms, bill, today)
            if run.skip_reason is None and bill.id not in started:
                planned[bill.id] = run
    return planned


async def overdue(today: date) -> list[Notice]:
    """BILL_OVERDUE the day after an unpaid bill's due date (or late, within the catch-up)."""
    yesterday = today - timedelta(days=1)
    occasions = []
    for bill in await _unpaid(due_date__lte=yesterday, due_date__gte=yesterday - CATCH_UP):
        amount = Money(bill.amount_due, bill.currency).formatted
        message = (
            f"Statement {bill.statement_number} was due {long_date(bill.due_date)} "
            f"and {amount} is still unpaid."
        )
        occasions.append((bill, message, bill.due_date + timedelta(days=1)))
    return await _to_payers(NotificationKind.BILL_OVERDUE, occasions)


async def statements_available(today: date) -> list[Notice]:
    """STATEMENT_AVAILABLE for bills issued today (or within the catch-up)."""
    bills = await Bill.filter(
        voided_at__isnull=True, statement_date__lte=today, statement_date__gte=today - CATCH_UP
    ).order_by("id")
    occasions = []
    for bill in bills:
        amount = Money(bill.amount_due, bill.currency).formatted
        message = (
            f"Your statement {bill.statement_number} is ready: {amount} due "
            f"{long_date(bill.due_date)}."
        )
        occasions.append((bill, message, bill.statement_date))
    return await _to_payers(NotificationKind.STATEMENT_AVAILABLE, occasions)


async def autopay_upcoming(today: date, notice_days: int) -> list[Notice]:
    """AUTOPAY_UPCOMING from `notice_days` before a charge's cycle date until it is charged.

    Late enrollments and statements that arrive inside the window are announced on
    the first run that sees them; so are terms changed after an announcement.
    """
    notices = []
    for enrollment in await enrollments_due(today, ahead=notice_days):
        bills = await open_bills(enrollment, today)
        started = await started_bills(enrollment, bills, today)
        terms = await load_terms(enrollment)
        for bill in bills:
            run = plan(terms, bill, today)
            soon = run.cycle_date - timedelta(days=notice_days) <= today  # open_bills: <= due
            if soon and run.skip_reason is None and bill.id not in started:
                notices.append(autopay_notices.upcoming(enrollment, run))
    return notices


async def cards_expiring(today: date, notice_days: int) -> list[Notice]:
    """PAYMENT_METHOD_EXPIRING within `notice_days` before an autopay card's last valid day."""
    enrollments = await AutopayEnrollment.filter(status=AutopayStatus.ACTIVE).order_by("id")
    methods = {
        m.id: m
        for m in await PaymentMethod.filter(
            id__in=[e.method_id for e in enrollments], exp_year__isnull=False
        )
    }
    notices = []
    for enrollment in enrollments:
        method = methods.get(enrollment.method_id)
        if method is None or method.exp_year is None:
            continue
        month = method.exp_month or 12
        expires = date(method.exp_year, month, calendar.monthrange(method.exp_year, month)[1])
        if expires - timedelta(days=notice_days) <= today <= expires:
            notices.append(autopay_notices.expiring(enrollment, method, expires))
    return notices


async def _unpaid(**window: date) -> list[Bill]:
    return await Bill.filter(voided_at__isnull=True, amount_due__gt=0, **window).order_by("id")


async def _to_payers(
    kind: NotificationKind, occasions: Sequence[tuple[Bill, str, date]]
) -> list[Notice]:
    """One notice per occasion (bill, message, day meant for) and member who may pay it."""
    payers: dict[int, list[int]] = {}
    account_ids = sorted({bill.account_id for bill, _, _ in occasions})
    for start in range(0, len(account_ids), _CHUNK):
        rows = await AccountAccess.filter(
            account_id__in=account_ids[start : start + _CHUNK],
            revoked_at__isnull=True,
            role__in=list(PAYING_ROLES),
        ).values_list("account_id", "member_id")
        for account_id, member_id in rows:
            payers.setdefault(int(account_id), []).append(int(member_id))
    return [
        Notice(
            member_id=member_id,
            kind=kind,
            message=message,
            dedupe_key=f"{kind.value}:{bill.id}:{member_id}:{when.isoformat()}",
            bill_id=bill.id,
            account_id=bill.account_id,
            amount=bill.amount_due,
            currency=bill.currency,
        )
        for bill, message, when in occasions
        for member_id in sorted(payers.get(bill.account_id, []))
    ]


async def _unsent(candidates: Iterable[Notice]) -> list[Notice]:
    """The candidates whose dedupe key no notification has yet (the insert still decides)."""
    pending = {n.dedupe_key: n for n in candidates}
    keys = list(pending)
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        for row in await Notification.filter(dedupe_key__in=chunk).values_list("dedupe_key"):
            pending.pop(str(row[0]), None)
    return list(pending.values())
