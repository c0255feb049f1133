"""The autopay rule: cycle date, amount, skip reason, and the enrollment's next run."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from models import AutopayCharge, AutopayEnrollment, Bill, BillingAccount, PaymentMethod
from models.enums import (
    AccountStatus,
    AutopayChargeStatus,
    AutopaySkipReason,
    AutopayStatus,
    AutopayStrategy,
    PaymentMethodKind,
)
from resolvers.autopay_plan import Terms, charge_amount, cycle_date, next_run, plan
from tests import factories


def bill(*, responsibility: int = 30_000, due: int | None = None, minimum: int = 0) -> Bill:
    due = responsibility if due is None else due
    return Bill(
        id=1,
        account_id=1,
        due_date=date(2026, 12, 10),
        patient_responsibility=responsibility,
        amount_due=due,
        minimum_due=minimum,
        currency="USD",
        voided_at=None,
    )


def enrollment(strategy: AutopayStrategy, **terms: object) -> AutopayEnrollment:
    return AutopayEnrollment(
        id=1,
        account_id=1,
        member_id=1,
        method_id=1,
        strategy=strategy,
        days_before_due=3,
        status=AutopayStatus.ACTIVE,
        **terms,
    )


def terms(
    e: AutopayEnrollment,
    *,
    status: AccountStatus = AccountStatus.ACTIVE,
    exp: tuple[int, int] = (2030, 12),
    can_pay: bool = True,
) -> Terms:
    card = PaymentMethod(
        id=1, kind=PaymentMethodKind.CARD, last4="4444", exp_year=exp[0], exp_month=exp[1]
    )
    return Terms(e, BillingAccount(id=1, status=status), card, can_pay)


@pytest.mark.parametrize(
    ("due_date", "days", "expected"),
    [
        (date(2026, 12, 10), 3, date(2026, 12, 7)),
        (date(2026, 12, 16), 3, date(2026, 12, 14)),  # Sunday -> Monday
        (date(2026, 11, 29), 3, date(2026, 11, 27)),  # Thanksgiving -> Friday
        (date(2026, 12, 14), 1, date(2026, 12, 14)),  # Sunday -> Monday, the due date itself
        # Rolling forward would pass the due date: the business day before instead.
        (date(2026, 12, 12), 0, date(2026, 12, 11)),  # due on a Saturday -> Friday
        (date(2026, 12, 26), 0, date(2026, 12, 24)),  # Saturday after Christmas -> Thursday
        (date(2027, 1, 18), 0, date(2027, 1, 15)),  # due on Martin Luther King Day -> Friday
    ],
)
def test_cycle_date(due_date: date, days: int, expected: date) -> None:
    assert cycle_date(due_date, days) == expected


def test_a_cycle_rolled_back_before_today_runs_today_not_in_the_past() -> None:
    e = enrollment(AutopayStrategy.STATEMENT_BALANCE)
    e.days_before_due = 0
    saturday = bill()
    saturday.due_date = date(2026, 12, 12)

    run = plan(terms(e), saturday, date(2026, 12, 12))  # enrolled on the due date itself

    assert (run.cycle_date, run.run_date) == (date(2026, 12, 11), date(2026, 12, 12))


@pytest.mark.parametrize(
    ("strategy", "extra", "the_bill", "expected"),
    [
        (AutopayStrategy.STATEMENT_BALANCE, {}, bill(), 30_000),
        (AutopayStrategy.STATEMENT_BALANCE, {"max_amount": 10_000}, bill(), 10_000),
        (AutopayStrategy.STATEMENT_BALANCE, {}, bill(due=20_000), 20_000),  # 100.00 pending/paid
        (AutopayStrategy.FIXED_AMOUNT, {"fixed_amount": 5_000}, bill(), 5_000),
        (AutopayStrategy.FIXED_AMOUNT, {"fixed_amount": 50_000}, bill(), 30_000),
        (AutopayStrategy.FIXED_AMOUNT, {"fixed_amount": 5_000, "max_amount": 4_000}, bill(), 4_000),
        (AutopayStrategy.MINIMUM_DUE, {}, bill(minimum=2_500), 2_500),
        (AutopayStrategy.MINIMUM_DUE, {}, bill(minimum=2_500, due=29_000), 1_500),  # 10.00 paid
        (AutopayStrategy.MINIMUM_DUE, {}, bill(minimum=2_500, due=20_000), 0),  # minimum met
        (AutopayStrategy.STATEMENT_BALANCE, {}, bill(due=0), 0),
    ],
)
def test_charge_amount(
    strategy: AutopayStrategy, extra: dict[str, int], the_bill: Bill, expected: int
) -> None:
    assert charge_amount(enrollment(strategy, **extra), the_bill) == expected


def test_skip_reasons() -> None:
    e = enrollment(AutopayStrategy.STATEMENT_BALANCE)
    today = date(2026, 12, 7)
    assert plan(terms(e), bill(), today).skip_reason is None
    assert plan(terms(e), bill(due=0), today).skip_reason is AutopaySkipReason.NOTHING_DUE
    held = terms(e, status=AccountStatus.ON_HOLD)
    assert plan(held, bill(), today).skip_reason is AutopaySkipReason.ACCOUNT_ON_HOLD
    expired = terms(e, exp=(2026, 11))
    assert plan(expired, bill(), today).skip_reason is AutopaySkipReason.PAYMENT_METHOD_EXPIRED
    last_month = terms(e, exp=(2026, 12))  # valid through December 31
    assert plan(last_month, bill(), today).skip_reason is None
    no_access = terms(e, can_pay=False)
    assert plan(no_access, bill(), today).skip_reason is AutopaySkipReason.NO_PAYING_ACCESS
    voided = bill()
    voided.voided_at = datetime(2026, 12, 1, tzinfo=UTC)
    assert plan(terms(e), voided, today).skip_reason is AutopaySkipReason.BILL_VOIDED


def test_minimum_due_on_a_bill_that_owes_money_but_sets_no_minimum_says_so() -> None:
    e = enrollment(AutopayStrategy.MINIMUM_DUE)
    today = date(2026, 12, 7)

    assert plan(terms(e), bill(minimum=0), today).skip_reason is AutopaySkipReason.NO_MINIMUM_SET
    assert plan(terms(e), bill(minimum=0, due=0), today).skip_reason is (
        AutopaySkipReason.NOTHING_DUE
    )
    met = bill(minimum=2_500, due=20_000)  # 100.00 already paid: the minimum is met
    assert plan(terms(e), met, today).skip_reason is AutopaySkipReason.NOTHING_DUE


async def test_next_run_names_the_next_bill_date_amount_and_method(db: str) -> None:
    jordan = await factories.member()
    acct = await factories.account(jordan)
    card = await factories.card(jordan, token="tok_mastercard")
    enrolled = await factories.autopay(jordan, acct, card, max_amount=10_000)
    paid = await factories.bill(acct, due=5_000, due_date=date(2026, 12, 10))
    await Bill.filter(id=paid.id).update(amount_due=0, amount_paid=5_000)
    upcoming = await factories.bill(acct, due=12_000, due_date=date(2026, 12, 16))
    await factories.bill(acct, due=7_000, due_date=date(2026, 11, 20))  # in the past

    found = await next_run(enrolled, date(2026, 12, 1))

    assert found is not None
    assert (found.bill.id, found.run_date, found.amount, found.skip_reason) == (
        upcoming.id,
        date(2026, 12, 14),
        10_000,
        None,
    )
    assert found.method is not None and found.method.id == card.id


async def test_next_run_skips_charged_bills_and_says_why_it_would_not_charge(db: str) -> None:
    jordan = await factories.member()
    acct = await factories.account(jordan)
    card = await factories.card(jordan)
    enrolled = await factories.autopay(jordan, acct, card)
    charged = await factories.bill(acct, due_date=date(2026, 12, 10))
    stamp = datetime(2026, 12, 7, tzinfo=UTC)
    await AutopayCharge.create(
        enrollment=enrolled,
        bill=charged,
        cycle_date=date(2026, 12, 7),
        status=AutopayChargeStatus.CHARGED,
        created_at=stamp,
        updated_at=stamp,
    )
    later = await factories.bill(acct, due_date=date(2027, 1, 11))
    await BillingAccount.filter(id=acct.id).update(status=AccountStatus.ON_HOLD)

    found = await next_run(enrolled, date(2026, 12, 8))

    assert found is not None
    assert (found.bill.id, found.skip_reason) == (later.id, AutopaySkipReason.ACCOUNT_ON_HOLD)
    assert await next_run(enrolled, date(2027, 1, 12)) is None
