"""Factories that build believable domain rows for tests."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta

from models import (
    AccountAccess,
    AutopayEnrollment,
    Bill,
    BillingAccount,
    BillLineItem,
    Member,
    PaymentMethod,
)
from models.enums import AccessRole, AccountKind, AutopayStrategy, PaymentMethodKind, Role

_seq = itertools.count(1)


_NO_DIGITS = str.maketrans("0123456789", "ghijklmnop")


def fresh_key(prefix: str) -> str:
    """A unique idempotency key without digits: a run of 13-19 digits passing Luhn (about
    one random hex string in 500) is refused as a card number."""
    return prefix + uuid.uuid4().hex.translate(_NO_DIGITS)


async def member(email: str | None = None, *, name: str = "Pat Doe", staff: bool = False) -> Member:
    """A member (or staff, with staff=True)."""
    n = next(_seq)
    return await Member.create(
        email=email or f"member{n}@example.org",
        name=name,
        role=Role.STAFF if staff else Role.MEMBER,
    )


async def account(
    holder: Member | None = None,
    *,
    role: AccessRole = AccessRole.GUARANTOR,
    kind: AccountKind = AccountKind.HOSPITAL,
) -> BillingAccount:
    """A billing account, held by `holder` in `role` when given."""
    n = next(_seq)
    acct = await BillingAccount.create(
        account_number=f"HA{n:08d}", kind=kind, provider_name="Riverside Medical Center"
    )
    if holder is not None:
        await grant(holder, acct, role)
    return acct


async def grant(holder: Member, acct: BillingAccount, role: AccessRole) -> AccountAccess:
    """Give a member access to an account."""
    return await AccountAccess.create(member=holder, account=acct, role=role)


async def bill(
    acct: BillingAccount,
    *,
    due: int = 10000,
    lines: int = 1,
    due_date: date | None = None,
    statement_date: date | None = None,
) -> Bill:
    """A bill whose patient responsibility is `due` cents, split over `lines` line items."""
    n = next(_seq)
    statement = statement_date or date(2026, 11, 1)
    per_line = [due // lines] * lines
    per_line[0] += due - sum(per_line)
    insurance = [p * 2 for p in per_line]
    adjustment = [p // 2 for p in per_line]
    charges = [p + i + a for p, i, a in zip(per_line, insurance, adjustment, strict=True)]
    created = await Bill.create(
        account=acct,
        statement_number=f"S{n:09d}",
        statement_date=statement,
        due_date=due_date or statement + timedelta(days=25),
        total_charges=sum(charges),
        insurance_paid=sum(insurance),
        adjustments=sum(adjustment),
        patient_responsibility=due,
        amount_due=due,
    )
    await BillLineItem.bulk_create(
        [
            BillLineItem(
                bill=created,
                position=i,
                service_date=statement - timedelta(days=20),
                code="99213",
                description="Office or outpatient visit, established patient, low complexity",
                provider="Dr. Maya Chen, MD",
                charge=charges[i],
                insurance_paid=insurance[i],
                adjustment=adjustment[i],
                patient_amount=per_line[i],
            )
            for i in range(lines)
        ]
    )
    return created


async def card(
    owner: Member, *, token: str = "tok_visa", brand: str = "visa", default: bool = False
) -> PaymentMethod:
    """A saved card for `owner`."""
    return await PaymentMethod.create(
        member=owner,
        kind=PaymentMethodKind.CARD,
        processor_token=token,
        brand=brand,
        last4="4242",
        exp_month=12,
        exp_year=2030,
        is_default=default,
    )


async def autopay(
    owner: Member,
    acct: BillingAccount,
    method: PaymentMethod,
    *,
    strategy: AutopayStrategy = AutopayStrategy.STATEMENT_BALANCE,
    days_before_due: int = 3,
    fixed_amount: int | None = None,
    max_amount: int | None = None,
) -> AutopayEnrollment:
    """An ACTIVE autopay enrollment of `acct`, charging `owner`'s `method`."""
    stamp = datetime(2026, 10, 1, tzinfo=UTC)
    return await AutopayEnrollment.create(
        account=acct,
        member=owner,
        method=method,
        strategy=strategy,
        days_before_due=days_before_due,
        fixed_amount=fixed_amount,
        max_amount=max_amount,
        created_at=stamp,
        updated_at=stamp,
    )
