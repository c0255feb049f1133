"""The database itself refuses a bill whose ledger does not add up."""

from __future__ import annotations

import pytest
from tortoise.exceptions import IntegrityError, OperationalError

from models import Bill
from tests import factories


async def test_bill_ledger_holds_after_creation(db: str) -> None:
    acct = await factories.account()
    bill = await factories.bill(acct, due=12540, lines=3)
    fresh = await Bill.get(id=bill.id)
    assert fresh.patient_responsibility == (
        fresh.total_charges - fresh.insurance_paid - fresh.adjustments
    )
    assert fresh.amount_due == 12540


async def test_database_refuses_a_negative_amount_due(db: str) -> None:
    acct = await factories.account()
    bill = await factories.bill(acct, due=5000)
    with pytest.raises((IntegrityError, OperationalError)):
        await Bill.filter(id=bill.id).update(amount_due=-1, amount_paid=5001)
    assert (await Bill.get(id=bill.id)).amount_due == 5000
