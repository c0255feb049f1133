"""`carepay scheduler run-once`: the counts, then a line per settlement, charge, skip and notice."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta

from adapters.clock import FixedClock, set_clock
from models import PaymentMethod
from models.enums import BankAccountType
from resolvers.access import load_viewer
from resolvers.payment_methods import BankAccount, add_bank_account
from resolvers.payments import pay_bill
from resolvers.scheduler import run_once
from resolvers.scheduler_digest import digest
from settings import Settings
from tests import factories
from tests.e2e.server import BASE_ENV, carepay

DUE = date(2026, 12, 10)
CYCLE = date(2026, 12, 7)


def line_of(output: str, *parts: str) -> str:
    """The one output line holding every part."""
    (found,) = [line for line in output.splitlines() if all(p in line for p in parts)]
    return found


async def test_run_once_prints_each_charge_skip_and_notice(db: str) -> None:
    set_clock(FixedClock(datetime(2026, 11, 15, 9, tzinfo=UTC)))
    jo = await factories.member()
    paying, stale = await factories.account(jo), await factories.account(jo)
    await factories.autopay(jo, paying, await factories.card(jo))
    old_card = await factories.card(jo)
    await PaymentMethod.filter(id=old_card.id).update(exp_month=11, exp_year=2026)
    await factories.autopay(jo, stale, old_card)
    charged = await factories.bill(paying, due=12_000, due_date=DUE, statement_date=CYCLE)
    skipped = await factories.bill(stale, due=7_000, due_date=DUE, statement_date=CYCLE)
    env = {**os.environ, **BASE_ENV, "CAREPAY_DATABASE_URL": db}

    output = carepay("scheduler", "run-once", "--at", f"{CYCLE}T09:00:00+00:00", env=env)

    assert "autopay: 1 charged, 0 failed, 1 skipped" in output
    assert "$120.00  charged" in line_of(output, "autopay", charged.statement_number)
    assert "skipped: PAYMENT_METHOD_EXPIRED" in line_of(output, "autopay", skipped.statement_number)
    upcoming = line_of(output, "notice", charged.statement_number, "AUTOPAY_UPCOMING")
    assert f"$120.00  AUTOPAY_UPCOMING to member {jo.id}" in upcoming
    assert "$70.00  AUTOPAY_FAILED" in line_of(output, "notice", skipped.statement_number, "FAILED")
    statements = line_of(output, "notice", charged.statement_number, "STATEMENT_AVAILABLE")
    assert "$120.00" in statements


async def test_the_digest_names_each_ach_settlement_and_return(db: str) -> None:
    set_clock(FixedClock(datetime.combine(CYCLE, time(9), UTC)))
    alex = await factories.member()
    acct = await factories.account(alex)
    viewer = await load_viewer(alex.email, "member")
    assert viewer is not None
    bills = [await factories.bill(acct, due=15_000, statement_date=CYCLE) for _ in range(2)]
    for bill, number in zip(bills, ("000123456789", "000111111116"), strict=True):
        bank = BankAccount("110000000", number, BankAccountType.CHECKING, "Alex")
        method = await add_bank_account(viewer=viewer, account=bank)
        await pay_bill(
            viewer=viewer,
            bill_id=bill.id,
            amount=15_000,
            method_id=method.id,
            idempotency_key=f"ach-{bill.id}",
        )
    later = datetime.combine(CYCLE + timedelta(days=7), time(9), UTC)
    set_clock(FixedClock(later))

    lines = await digest(await run_once(later, settings=Settings.from_env({})))

    settled, returned = bills
    assert "$150.00  succeeded" in line_of("\n".join(lines), "ach", settled.statement_number)
    assert "returned: ACH_RETURN_R01" in line_of("\n".join(lines), "ach", returned.statement_number)
