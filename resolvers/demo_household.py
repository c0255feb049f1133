"""The demo's people, accounts, who may pay what, saved payment methods and autopay."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from models import AccountAccess, AuditLog, AutopayEnrollment, BillingAccount, Member
from models.enums import (
    AccessRole,
    AccountKind,
    AutopayStrategy,
    BankAccountType,
    PaymentMethodKind,
    PaymentMethodStatus,
    Role,
)
from models.payments import PaymentMethod
from resolvers.demo_catalog import LAKESHORE, PHYSICIANS, RIVERSIDE
from resolvers.demo_statements import months_before
from resolvers.demo_story import ACH, AMEX, AUTOPAY_DAYS_BEFORE_DUE, MASTERCARD, OLD_DEBIT, VISA

TEST_ROUTING_NUMBER = "110000000"  # the sandbox's test bank; account 000123456789 settles


@dataclass(frozen=True)
class Household:
    """What the rest of the demo refers to, by the demo's own names."""

    members: dict[str, Member]
    accounts: dict[str, BillingAccount]
    methods: dict[str, PaymentMethod]
    enrollment_id: int
    payers: dict[int, list[int]]  # account id -> members who may pay it


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), UTC)


async def create_household(
    conn: BaseDBAsyncClient,
    rng: random.Random,
    today: date,
    *,
    enrolled_at: datetime,
    debit_removed_at: datetime,
) -> Household:
    """Members, accounts, access, methods and Jordan's autopay enrollment."""
    long_ago = _at(months_before(today, 26))
    members = {
        key: await Member.create(
            email=f"{key}@example.org", name=name, role=role, created_at=long_ago, using_db=conn
        )
        for key, name, role in (
            ("billing", "Riverside Billing Office", Role.STAFF),
            ("alex", "Alex Rivera", Role.MEMBER),
            ("sam", "Sam Rivera", Role.MEMBER),
            ("jordan", "Jordan Rivera", Role.MEMBER),
        )
    }
    opened = {
        "hospital": (RIVERSIDE, AccountKind.HOSPITAL, "RMC-40718263", long_ago),
        "physician": (PHYSICIANS, AccountKind.PROFESSIONAL, "RPG-10552871", long_ago),
        "family": (
            LAKESHORE,
            AccountKind.PROFESSIONAL,
            "LFM-30091547",
            _at(months_before(today, 13)),
        ),
    }
    accounts = {
        key: await BillingAccount.create(
            account_number=number, kind=kind, provider_name=provider, created_at=at, using_db=conn
        )
        for key, (provider, kind, number, at) in opened.items()
    }
    sam_since = _at(months_before(today, 15))
    grants = [
        AccountAccess(member_id=members[m].id, account_id=accounts[a].id, role=r, granted_at=at)
        for m, a, r, at in (
            ("alex", "hospital", AccessRole.GUARANTOR, long_ago),
            ("alex", "physician", AccessRole.GUARANTOR, long_ago),
            ("sam", "physician", AccessRole.PROXY_PAY, sam_since),
            ("jordan", "family", AccessRole.GUARANTOR, opened["family"][3]),
        )
    ]
    await AccountAccess.bulk_create(grants, using_db=conn)
    payers: dict[int, list[int]] = {}
    for grant in grants:
        payers.setdefault(grant.account_id, []).append(grant.member_id)
    methods = await _methods(conn, rng, today, members, long_ago, debit_removed_at)
    enrollment = await AutopayEnrollment.create(
        account_id=accounts["family"].id,
        member_id=members["jordan"].id,
        method_id=methods[MASTERCARD].id,
        strategy=AutopayStrategy.STATEMENT_BALANCE,
        days_before_due=AUTOPAY_DAYS_BEFORE_DUE,
        created_at=enrolled_at,
        updated_at=enrolled_at,
        using_db=conn,
    )
    await AuditLog.create(
        action="autopay.setup",
        entity_type="autopay_enrollment",
        entity_id=enrollment.id,
        actor_id=enrollment.member_id,
        data={
            "status": enrollment.status.value,
            "strategy": enrollment.strategy.value,
            "method_id": enrollment.method_id,
            "days_before_due": enrollment.days_before_due,
        },
        created_at=enrolled_at,
        using_db=conn,
    )
    return Household(members, accounts, methods, enrollment.id, payers)


async def _methods(
    conn: BaseDBAsyncClient,
    rng: random.Random,
    today: date,
    members: dict[str, Member],
    long_ago: datetime,
    debit_removed_at: datetime,
) -> dict[str, PaymentMethod]:
    soon = today + timedelta(days=35)  # Jordan's card runs out within two months
    card = PaymentMethodKind.CARD
    rows = {
        VISA: PaymentMethod(
            member_id=members["alex"].id,
            kind=card,
            processor_token="tok_visa",
            brand="visa",
            last4="4242",
            exp_month=8,
            exp_year=today.year + 3,
            nickname="Everyday Visa",
            is_default=True,
            created_at=long_ago,
        ),
        ACH: PaymentMethod(
            member_id=members["alex"].id,
            kind=PaymentMethodKind.ACH,
            processor_token="btok_" + rng.randbytes(12).hex(),
            last4="6789",  # of account 000123456789
            bank_name="Sandbox Test Bank",
            routing_number=TEST_ROUTING_NUMBER,
            account_type=BankAccountType.CHECKING,
            holder_name="Alex Rivera",
            nickname="HSA checking",
            created_at=long_ago,
        ),
        OLD_DEBIT: PaymentMethod(
            member_id=members["alex"].id,
            kind=card,
            processor_token="tok_chargeDeclinedInsufficientFunds",
            brand="visa",
            last4="9995",
            exp_month=5,
            exp_year=today.year + 1,
            nickname="Old debit card",
            status=PaymentMethodStatus.REMOVED,
            created_at=long_ago,
            removed_at=debit_removed_at,
        ),
        AMEX: PaymentMethod(
            member_id=members["sam"].id,
            kind=card,
            processor_token="tok_amex",
            brand="amex",
            last4="8431",
            exp_month=3,
            exp_year=today.year + 2,
            is_default=True,
            created_at=_at(months_before(today, 15)),
        ),
        MASTERCARD: PaymentMethod(
            member_id=members["jordan"].id,
            kind=card,
            processor_token="tok_mastercard",
            brand="mastercard",
            last4="4444",
            exp_month=soon.month,
            exp_year=soon.year,
            is_default=True,
            created_at=_at(months_before(today, 13)),
        ),
    }
    for method in rows.values():
        await method.save(using_db=conn)
    return rows
