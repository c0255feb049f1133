"""The demo's payment history: who paid which statement, when, how, and what went wrong.

Old statements are paid, in full or in two instalments, by card or ACH; the newest
ones are open, partly paid, overdue, or paid by a bank transfer still settling.
One statement is voided and reissued, one card payment is refunded and paid again
by ACH, one payment is declined, and Jordan's autopay pays three days before due.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from models.business_days import add_business_days
from models.enums import PaymentSource, PaymentStatus
from resolvers.autopay_plan import cycle_date
from resolvers.demo_statements import StatementDraft

# Saved methods, by the demo's own names (resolvers.demo creates them).
VISA, ACH, OLD_DEBIT, AMEX, MASTERCARD = "visa", "ach", "old_debit", "amex", "mastercard"
BANK_METHODS = frozenset({ACH})
ACH_SETTLEMENT_DAYS = 2
AUTOPAY_DAYS_BEFORE_DUE = 3


@dataclass(frozen=True)
class RefundDraft:
    """A refund by billing staff."""

    amount: int
    at: datetime
    reason: str


@dataclass(frozen=True)
class PaymentDraft:
    """One payment in its final state."""

    payer: str
    method: str
    amount: int
    status: PaymentStatus
    created_at: datetime
    settled_at: datetime | None = None
    settle_after: datetime | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    refund: RefundDraft | None = None
    source: PaymentSource = PaymentSource.ONE_TIME
    cycle_date: date | None = None

    @property
    def is_bank(self) -> bool:
        """Whether the payment is an ACH debit."""
        return self.method in BANK_METHODS

    @property
    def succeeded_at(self) -> datetime | None:
        """When it succeeded (even if refunded later), or None if it never did."""
        return self.settled_at if self.status in SETTLED else None


SETTLED = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED})


def moment(rng: random.Random, day: date, hours: tuple[int, int] = (8, 21)) -> datetime:
    """A believable time of day on `day`, in UTC."""
    clock = time(rng.randint(*hours), rng.randint(0, 59), rng.randint(0, 59))
    return datetime.combine(day, clock, UTC)


def paid(rng: random.Random, payer: str, method: str, amount: int, at: datetime) -> PaymentDraft:
    """A succeeded card payment, or an ACH debit that settled two banking days later."""
    if method not in BANK_METHODS:
        done = at + timedelta(seconds=rng.randint(1, 3))
        return PaymentDraft(payer, method, amount, PaymentStatus.SUCCEEDED, at, done)
    settle_after = add_business_days(at, ACH_SETTLEMENT_DAYS)
    settled = settle_after + timedelta(minutes=rng.randint(1, 40))
    return PaymentDraft(
        payer, method, amount, PaymentStatus.SUCCEEDED, at, settled, settle_after=settle_after
    )


def pay_in_full(rng: random.Random, st: StatementDraft, payer: str, method: str) -> None:
    """Pay the statement before its due date, large balances in two instalments."""
    owed = st.patient_responsibility
    first = moment(rng, st.statement_date + timedelta(days=rng.randint(4, 12)))
    if owed > 60_000 and rng.random() < 0.6:
        part = int(round(owed * rng.uniform(0.3, 0.5), -2))
        later = moment(rng, first.date() + timedelta(days=rng.randint(8, 12)))
        st.payments += [
            paid(rng, payer, method, part, first),
            paid(rng, payer, method, owed - part, later),
        ]
    else:
        st.payments.append(paid(rng, payer, method, owed, first))


def _share(owed: int, fraction: float) -> int:
    part = int(round(owed * fraction, -2))
    return part if 0 < part < owed else max(1, owed // 2)


def hospital(rng: random.Random, statements: list[StatementDraft]) -> None:
    """Alex's hospital account: open, overdue after a decline, voided and reissued, paid."""
    for k, st in enumerate(statements):
        if k == 0 or st.voided:
            continue
        if k == 1:
            at = moment(rng, st.due_date - timedelta(days=3), (18, 22))
            st.payments.append(
                PaymentDraft(
                    "alex",
                    OLD_DEBIT,
                    st.patient_responsibility,
                    PaymentStatus.FAILED,
                    at,
                    failure_code="INSUFFICIENT_FUNDS",
                    failure_message="Your card has insufficient funds.",
                )
            )
            continue
        pay_in_full(rng, st, "alex", ACH if rng.random() < 0.35 else VISA)


def physician(rng: random.Random, statements: list[StatementDraft], today: date) -> None:
    """Alex's physician account, which Sam helps pay: partly paid, settling, refunded, paid."""
    yesterday = today - timedelta(days=1)
    for k, st in enumerate(statements):
        owed = st.patient_responsibility
        if k == 0:
            part = _share(owed, 0.4)
            at = moment(rng, today - timedelta(days=2), (12, 20))
            st.payments.append(paid(rng, "sam", AMEX, part, at))
        elif k == 1:
            part = _share(owed, rng.uniform(0.3, 0.5))
            at = moment(rng, st.statement_date + timedelta(days=9))
            debit_at = moment(rng, yesterday, (18, 22))
            st.payments += [
                paid(rng, "alex", VISA, part, at),
                PaymentDraft(
                    "alex",
                    ACH,
                    owed - part,
                    PaymentStatus.PROCESSING,
                    debit_at,
                    settle_after=add_business_days(debit_at, ACH_SETTLEMENT_DAYS),
                ),
            ]
        elif k == 5:
            at = moment(rng, st.statement_date + timedelta(days=6))
            refund_at = moment(rng, at.date() + timedelta(days=2), (9, 16))
            reason = "Paid with the wrong card; the member is paying from the HSA bank account."
            st.payments += [
                PaymentDraft(
                    "alex",
                    VISA,
                    owed,
                    PaymentStatus.REFUNDED,
                    at,
                    at + timedelta(seconds=2),
                    refund=RefundDraft(owed, refund_at, reason),
                ),
                paid(rng, "alex", ACH, owed, refund_at + timedelta(hours=rng.randint(2, 5))),
            ]
        elif k <= 13 and rng.random() < 0.3:
            pay_in_full(rng, st, "sam", AMEX)
        else:
            pay_in_full(rng, st, "alex", ACH if rng.random() < 0.3 else VISA)


def family(rng: random.Random, statements: list[StatementDraft], autopay_from: int) -> None:
    """Jordan's account: paid by hand at first, then by autopay; the newest still open."""
    for k, st in enumerate(statements):
        if k == 0:
            continue
        owed = st.patient_responsibility
        if k >= autopay_from:
            at = moment(rng, st.statement_date + timedelta(days=rng.randint(6, 15)))
            st.payments.append(paid(rng, "jordan", MASTERCARD, owed, at))
            continue
        cycle = cycle_date(st.due_date, AUTOPAY_DAYS_BEFORE_DUE)
        at = moment(rng, cycle, (9, 9))
        charge = paid(rng, "jordan", MASTERCARD, owed, at)
        st.payments.append(replace(charge, source=PaymentSource.AUTOPAY, cycle_date=cycle))
