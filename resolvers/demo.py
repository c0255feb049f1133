"""`carepay seed --demo`: the believable household of DESIGN.md, written in one transaction.

alex@example.org is guarantor of a hospital and a physician-group account with two
years of statements; sam@example.org may pay Alex's physician account;
jordan@example.org has an account on autopay; billing@example.org is staff.
The same `today` and seed always give the same data.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models import AutopayCharge, Bill, BillLineItem, Member, Notification, OutboxEvent, Payment
from models.enums import BillStatus, PaymentStatus
from models.ledger import bill_status
from models.payments import SandboxCharge
from resolvers.demo_books import AUTOPAY_FROM, Books, draft_books
from resolvers.demo_household import Household, create_household
from resolvers.demo_journal import Ledger
from resolvers.demo_notices import send_history
from resolvers.demo_payments import write_payment
from resolvers.demo_statements import StatementDraft

DEMO_SEED = 20_240_611
EMAILS = ("alex@example.org", "sam@example.org", "jordan@example.org", "billing@example.org")


class DemoAlreadySeeded(RuntimeError):
    """The demo household is already in the database."""


async def database_is_empty() -> bool:
    """Whether no member exists yet (so the demo may be seeded)."""
    return not await Member.exists()


async def seed_demo(*, today: date, seed: int = DEMO_SEED) -> str:
    """Write the demo household as of `today`; a short summary of what was written."""
    if await Member.filter(email__in=EMAILS).exists():
        raise DemoAlreadySeeded("the demo household is already in the database")
    rng = random.Random(seed)
    books = draft_books(rng, today)
    (declined,) = [p for s in books.hospital for p in s.payments if p.failure_code]
    async with in_transaction() as conn:
        # The first statement is a write, so SQLite takes its write lock at once.
        household = await create_household(
            conn,
            rng,
            today,
            enrolled_at=books.family[AUTOPAY_FROM].payments[0].created_at + timedelta(days=1),
            debit_removed_at=declined.created_at + timedelta(hours=14),
        )
        ledger = Ledger(
            rng, today, household.members, household.methods, enrollment_id=household.enrollment_id
        )
        bills = await _write_books(conn, ledger, household, books)
        send_history(ledger, household, [bill for bill, _ in bills])
        await SandboxCharge.bulk_create(ledger.sandbox, batch_size=500, using_db=conn)
        await AutopayCharge.bulk_create(ledger.autopay, batch_size=500, using_db=conn)
        await ledger.journal.flush(conn)
        payments = await Payment.all().using_db(conn).count()
        notices = await Notification.all().using_db(conn).count()
        events = await OutboxEvent.all().using_db(conn).count()
    statuses = Counter(bill_status(bill, today) for bill, _ in bills)
    shown = ", ".join(f"{statuses[s]} {s.value}" for s in BillStatus if statuses[s])
    return (
        f"{len(household.members)} members, {len(household.accounts)} accounts, "
        f"{len(bills)} statements ({shown}), {payments} payments, {notices} notifications, "
        f"{events} events; sign in with `carepay token alex@example.org`"
    )


async def _write_books(
    conn: BaseDBAsyncClient, ledger: Ledger, household: Household, books: Books
) -> list[tuple[Bill, StatementDraft]]:
    written = []
    for key, statements in (
        ("hospital", books.hospital),
        ("physician", books.physician),
        ("family", books.family),
    ):
        account_id = household.accounts[key].id
        for draft in reversed(statements):
            written.append((await _write_bill(conn, account_id, draft), draft))
    lines = [
        BillLineItem(
            bill_id=bill.id,
            position=position,
            service_date=line.service_date,
            code=line.code,
            description=line.description,
            provider=line.provider,
            charge=line.charge,
            insurance_paid=line.insurance_paid,
            adjustment=line.adjustment,
            patient_amount=line.patient_amount,
        )
        for bill, draft in written
        for position, line in enumerate(draft.lines)
    ]
    await BillLineItem.bulk_create(lines, batch_size=500, using_db=conn)
    for bill, draft in written:
        for payment in draft.payments:
            await write_payment(conn, ledger, bill, payment)
    return written


async def _write_bill(conn: BaseDBAsyncClient, account_id: int, draft: StatementDraft) -> Bill:
    """The statement with its ledger columns already as its payments leave them."""
    paid = sum(p.amount for p in draft.payments if p.succeeded_at is not None)
    pending = sum(p.amount for p in draft.payments if p.status is PaymentStatus.PROCESSING)
    refunded = sum(p.refund.amount for p in draft.payments if p.refund is not None)
    owed = draft.patient_responsibility
    issued = datetime.combine(draft.statement_date, time(6), UTC)
    voided_at = issued + timedelta(days=4, hours=3) if draft.voided else None
    return await Bill.create(
        account_id=account_id,
        statement_number=draft.number,
        statement_date=draft.statement_date,
        due_date=draft.due_date,
        total_charges=draft.total_charges,
        insurance_paid=draft.insurance_paid,
        adjustments=draft.adjustments,
        patient_responsibility=owed,
        amount_paid=paid,
        amount_pending=pending,
        amount_refunded=refunded,
        amount_due=owed - paid - pending + refunded,
        minimum_due=draft.minimum_due,
        voided_at=voided_at,
        created_at=issued,
        using_db=conn,
    )


__all__ = ["DEMO_SEED", "EMAILS", "DemoAlreadySeeded", "database_is_empty", "seed_demo"]
