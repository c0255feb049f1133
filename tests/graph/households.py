"""A member with one of everything, and the ID values that name no row of theirs."""

from __future__ import annotations

from typing import Any

from adapters.clock import now
from models import AutopayEnrollment, Notification, Payment
from models.enums import AutopayStrategy, NotificationKind, PaymentKind, PaymentStatus
from tests import factories

UNKNOWN_PK = 10**9
# Well-formed global IDs whose key no row can have: the id columns are 32-bit on PostgreSQL.
OUT_OF_RANGE_PKS = (2**31, 3_000_000_000, 2**62)


async def statements(email: str, *, accounts: int, bills_per_account: int, lines: int) -> None:
    """A member with accounts of bills, each bill with `lines` line items and a failed payment."""
    person = await factories.member(email)
    stamp = now()
    for _ in range(accounts):
        account = await factories.account(person)
        for n in range(bills_per_account):
            bill = await factories.bill(account, due=10_000 + n, lines=lines)
            await Payment.create(
                bill=bill,
                account=account,
                member=person,
                amount=100,
                kind=PaymentKind.CARD,
                status=PaymentStatus.FAILED,
                processor_idempotency_key=f"k-{bill.id}",
                created_at=stamp,
                updated_at=stamp,
            )


async def household(email: str) -> dict[str, int]:
    """A member with one of everything; the primary keys by type name."""
    person = await factories.member(email)
    account = await factories.account(person)
    bill = await factories.bill(account)
    card = await factories.card(person)
    stamp = now()
    payment = await Payment.create(
        bill=bill,
        account=account,
        member=person,
        method=card,
        amount=500,
        kind=PaymentKind.CARD,
        status=PaymentStatus.FAILED,
        processor_idempotency_key=f"walk-{email}",
        created_at=stamp,
        updated_at=stamp,
    )
    note = await Notification.create(
        member=person,
        kind=NotificationKind.STATEMENT_AVAILABLE,
        message="Your statement is ready",
        bill=bill,
        account=account,
        created_at=stamp,
    )
    autopay = await AutopayEnrollment.create(
        account=account,
        member=person,
        method=card,
        strategy=AutopayStrategy.STATEMENT_BALANCE,
        created_at=stamp,
        updated_at=stamp,
    )
    return {
        "BillingAccount": account.id,
        "Bill": bill.id,
        "Payment": payment.id,
        "PaymentMethod": card.id,
        "Notification": note.id,
        "AutopayEnrollment": autopay.id,
        "Viewer": person.id,
    }


def shape(result: Any) -> Any:
    """What a client can tell from a result: its data and its errors' messages and codes."""
    errors = [(e.message, (e.extensions or {}).get("code")) for e in result.errors or []]
    return result.data, errors
