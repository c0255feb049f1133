"""Autopay charges only terms it announced: an AUTOPAY_UPCOMING precedes every charge."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from adapters.clock import FixedClock, set_clock
from models import (
    AutopayCharge,
    AutopayEnrollment,
    Bill,
    BillingAccount,
    Member,
    Notification,
    Payment,
    PaymentMethod,
)
from models.enums import AutopayStrategy, NotificationKind
from resolvers.access import load_viewer
from resolvers.autopay_charges import claim, run_autopay
from resolvers.autopay_plan import due_now
from resolvers.autopay_report import AutopayReport
from resolvers.autopay_setup import setup_autopay
from resolvers.scheduler import run_once
from settings import Settings
from tests import factories

DUE = date(2026, 12, 10)  # a Thursday; 3 days before is Monday December 7
CYCLE = date(2026, 12, 7)
SETTINGS = Settings.from_env({})


def at(day: date) -> datetime:
    moment = datetime.combine(day, time(9), UTC)
    set_clock(FixedClock(moment))
    return moment


async def household() -> tuple[Member, BillingAccount, PaymentMethod, PaymentMethod]:
    jo = await factories.member()
    acct = await factories.account(jo)
    visa = await factories.card(jo)
    mastercard = await factories.card(jo, token="tok_mastercard", brand="mastercard")
    await PaymentMethod.filter(id=mastercard.id).update(last4="4444")
    return jo, acct, visa, mastercard


async def enrol(
    jo: Member,
    acct: BillingAccount,
    method: PaymentMethod,
    strategy: AutopayStrategy = AutopayStrategy.STATEMENT_BALANCE,
    fixed: Decimal | None = None,
) -> None:
    viewer = await load_viewer(jo.email, "member")
    assert viewer is not None
    await setup_autopay(
        viewer=viewer,
        account_id=acct.id,
        method_id=method.id,
        strategy=strategy,
        fixed_amount=fixed,
    )


async def announced(bill: Bill) -> tuple[list[str], int]:
    """The bill's AUTOPAY_UPCOMING messages, and how many of them came before its receipt."""
    rows = await Notification.filter(bill_id=bill.id).order_by("id")
    receipt = next(n.id for n in rows if n.kind is NotificationKind.PAYMENT_CONFIRMATION)
    upcoming = [n for n in rows if n.kind is NotificationKind.AUTOPAY_UPCOMING]
    return [n.message for n in upcoming], sum(n.id < receipt for n in upcoming)


async def test_terms_changed_after_the_notice_are_announced_again_before_the_charge(
    db: str,
) -> None:
    jo, acct, visa, mastercard = await household()
    at(date(2026, 11, 15))
    await enrol(jo, acct, visa, AutopayStrategy.FIXED_AMOUNT, Decimal("50.00"))
    bill = await factories.bill(acct, due=42_000, due_date=DUE, statement_date=date(2026, 11, 15))
    await run_once(at(date(2026, 12, 4)), settings=SETTINGS)  # announces $50.00 with the Visa
    at(date(2026, 12, 5))
    await enrol(jo, acct, mastercard)  # now the statement balance, with the Mastercard

    for day in (date(2026, 12, 5), date(2026, 12, 6), CYCLE):
        await run_once(at(day), settings=SETTINGS)

    (payment,) = await Payment.filter(bill_id=bill.id)
    assert (payment.amount, payment.method_id) == (42_000, mastercard.id)
    messages, before_receipt = await announced(bill)
    assert before_receipt == len(messages) == 2
    assert "$50.00" in messages[0] and "Visa ending 4242" in messages[0]
    assert "$420.00" in messages[1] and "Mastercard ending 4444" in messages[1]


async def test_the_charge_job_announces_changed_terms_itself_before_charging(db: str) -> None:
    jo, acct, visa, mastercard = await household()
    at(date(2026, 11, 15))
    await enrol(jo, acct, visa, AutopayStrategy.FIXED_AMOUNT, Decimal("50.00"))
    bill = await factories.bill(acct, due=42_000, due_date=DUE, statement_date=date(2026, 11, 15))
    await run_once(at(date(2026, 12, 4)), settings=SETTINGS)
    at(CYCLE)
    await enrol(jo, acct, mastercard)

    await run_autopay(at(CYCLE))  # no reminder run since the change

    messages, before_receipt = await announced(bill)
    assert before_receipt == len(messages) == 2
    assert "$420.00" in messages[1] and "Mastercard ending 4444" in messages[1]


async def test_an_enrolment_after_the_charge_date_is_announced_before_it_is_charged(
    db: str,
) -> None:
    jo, acct, visa, _ = await household()
    bill = await factories.bill(acct, due=7_000, due_date=DUE, statement_date=date(2026, 11, 15))
    at(date(2026, 12, 9))
    await enrol(jo, acct, visa)  # after the Dec 7 cycle date, before the Dec 10 due date

    await run_once(at(date(2026, 12, 9)), settings=SETTINGS)

    messages, before_receipt = await announced(bill)
    assert before_receipt == len(messages) == 1
    assert "$70.00" in messages[0] and "Wednesday, December 9, 2026" in messages[0]


async def test_a_statement_that_arrives_inside_the_window_is_announced_before_it_is_charged(
    db: str,
) -> None:
    jo, acct, visa, _ = await household()
    at(date(2026, 11, 15))
    await enrol(jo, acct, visa)
    bill = await factories.bill(acct, due=7_000, due_date=DUE, statement_date=date(2026, 12, 8))

    await run_autopay(at(date(2026, 12, 8)))  # the charge job alone

    messages, before_receipt = await announced(bill)
    assert before_receipt == len(messages) == 1


async def test_a_run_planned_before_a_change_is_not_claimed_with_the_old_terms(db: str) -> None:
    jo, acct, visa, mastercard = await household()
    at(date(2026, 11, 15))
    await enrol(jo, acct, visa)
    await factories.bill(acct, due=7_000, due_date=DUE, statement_date=date(2026, 11, 15))
    enrollment = await AutopayEnrollment.get(account_id=acct.id)
    at(CYCLE)
    (planned,) = await due_now(enrollment, CYCLE)  # with the Visa
    await enrol(jo, acct, mastercard)  # changed before the claim

    assert await claim(enrollment, planned, AutopayReport()) is None
    assert not await AutopayCharge.exists()
    assert not await Notification.filter(kind=NotificationKind.AUTOPAY_UPCOMING).exists()
