"""The reminders the scheduler would already have sent the demo household.

Same kinds, words and dedupe keys as `resolvers.reminders`, so the first real
scheduler run sends only what falls due from `today` on and never repeats these.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from models import Bill
from models.enums import NotificationKind
from models.money import Money
from resolvers import notices
from resolvers.autopay_notices import long_date
from resolvers.demo_household import Household
from resolvers.demo_journal import Ledger
from settings import Settings

STATEMENT_NOTICES = 3  # the newest statements of each account were announced


@dataclass(frozen=True)
class _Occasion:
    kind: NotificationKind
    bill: Bill
    message: str
    day: date
    amount: int


def _money(bill: Bill, minor: int) -> str:
    return Money(minor, bill.currency).formatted


def _statements(bills: Sequence[Bill]) -> Iterator[_Occasion]:
    """The newest statements of each account, announced the day they were issued."""
    by_account: dict[int, list[Bill]] = {}
    for bill in sorted(bills, key=lambda b: b.statement_date):
        by_account.setdefault(bill.account_id, []).append(bill)
    for account_bills in by_account.values():
        for bill in account_bills[-STATEMENT_NOTICES:]:
            owed = bill.patient_responsibility  # nothing was paid on the day it was issued
            message = (
                f"Your statement {bill.statement_number} is ready: {_money(bill, owed)} due "
                f"{long_date(bill.due_date)}."
            )
            yield _Occasion(
                NotificationKind.STATEMENT_AVAILABLE, bill, message, bill.statement_date, owed
            )


def _balances(bills: Sequence[Bill], today: date, offsets: Sequence[int]) -> Iterator[_Occasion]:
    """Overdue notices the day after due, due-soon notices whose day has passed."""
    for bill in bills:
        if bill.amount_due == 0:
            continue
        owed = _money(bill, bill.amount_due)
        days_left = (bill.due_date - today).days
        if days_left < 0:
            message = (
                f"Statement {bill.statement_number} was due {long_date(bill.due_date)} "
                f"and {owed} is still unpaid."
            )
            day = bill.due_date + timedelta(days=1)
            yield _Occasion(NotificationKind.BILL_OVERDUE, bill, message, day, bill.amount_due)
        elif offsets and 0 < days_left <= max(offsets):
            day = bill.due_date - timedelta(days=min(k for k in offsets if k >= days_left))
            message = (
                f"Statement {bill.statement_number} is due {long_date(bill.due_date)}: {owed}."
            )
            if day < today:
                yield _Occasion(NotificationKind.BILL_DUE_SOON, bill, message, day, bill.amount_due)


def send_history(ledger: Ledger, household: Household, bills: Sequence[Bill]) -> None:
    """The statement, due-soon and overdue notices sent before `today`, into the journal."""
    standing = [bill for bill in bills if bill.voided_at is None]
    offsets = Settings.from_env().reminder_days
    for occasion in [*_statements(standing), *_balances(standing, ledger.today, offsets)]:
        _send(ledger, household, occasion)


def _send(ledger: Ledger, household: Household, occasion: _Occasion) -> None:
    """One notice per payer, keyed as `resolvers.reminders` keys it, sent in the morning."""
    bill, kind = occasion.bill, occasion.kind
    at = datetime.combine(occasion.day, time(8, ledger.rng.randint(0, 59)), UTC)
    for member_id in household.payers[bill.account_id]:
        notification = {
            "member_id": member_id,
            "kind": kind,
            "message": occasion.message,
            "bill_id": bill.id,
            "account_id": bill.account_id,
            "amount": occasion.amount,
            "currency": bill.currency,
            "dedupe_key": f"{kind.value}:{bill.id}:{member_id}:{occasion.day.isoformat()}",
            "read_at": ledger.read_at(at),
        }
        event = {
            "topic": notices.TOPIC,
            "type": notices.EVENT_TYPE,
            "account_id": bill.account_id,
            "member_id": member_id,
            "payload": {"kind": kind.value, "bill_id": bill.id},
        }
        ledger.journal.notice(at, notification, event)
