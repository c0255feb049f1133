"""The ledger transaction: new payments reserved and charged payments moved, together.

payBill's two steps that touch the database, reserving a payment before the processor
is called and recording the processor's answer after, are both ledger work on the same
bills. Concurrent requests share one transaction for both (models/group_commit.py
batches them): reservations of some requests and outcomes of others. One transaction:
1. moves the payments that still have the status their move expects (payments first,
   as every transaction that moves a payment locks it before its bill);
2. locks every bill either part may touch, in id order (on PostgreSQL in the moves'
   last UPDATE statement, models.bulk.Then), and applies the applied moves' amounts to
   them in memory: a move that would take more than its bill has pending is a bug;
3. reserves the new payments against what is left (resolvers/payment_reserve.py);
4. shifts every bill's ledger columns in one guarded UPDATE whose row count is checked,
   and writes the moves' answers on their idempotency keys, both in one statement on
   PostgreSQL, and in the new payments' INSERT if there are any;
5. writes one INSERT each of audit rows, confirmations and outbox events for both.
A batch in which nothing changed rolls back whole. Every other payment state change
(cancel, settlement, reconcile, autopay) is a batch of one move.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.transactions import in_transaction

from models.bills import Bill
from models.bulk import shift_sql
from models.bulk_insert import Along, run_along
from models.enums import PaymentStatus
from models.payments import Payment
from resolvers.payment_moves import (
    Move,
    bill_deltas,
    changes_of,
    completion,
    feed_autopay,
    move_payments,
)
from resolvers.payment_reserve import (
    Reservation,
    Reserved,
    bill_lock,
    insert_payments,
    locked_bills,
    reserve,
)
from resolvers.payment_states import BillMove, LedgerError, write_changes

Work = Reservation | Move
Done = Reserved | Payment | None


class _NothingChanged(Exception):
    """No move applied and no payment reserved: roll the whole transaction back."""


async def record_all(items: Sequence[Work]) -> list[Done | Exception]:
    """For each reservation, its PENDING payment or what refused it (KeyTaken,
    PaymentError, Forbidden); for each move, its payment moved, or None if the payment
    had moved already."""
    reservations = [item for item in items if isinstance(item, Reservation)]
    moves = [item for item in items if isinstance(item, Move)]
    moved: list[Move] = []
    reserved: list[Reserved | Exception] = []
    try:
        async with in_transaction() as conn:
            ids = {r.bill_id for r in reservations} | {m.payment.bill_id for m in moves}
            lock = bill_lock(sorted(ids), conn.capabilities.dialect)
            moved = await move_payments(conn, moves, then=lock)
            bills = locked_bills(await lock.read(conn))
            outgoing = bill_deltas(moved)
            for bill_id, delta in outgoing.items():
                bill = bills.get(bill_id)
                if bill is None or bill.pending + delta["amount_pending"] < 0:
                    raise LedgerError(f"bill {bill_id} has less pending than its payments")
                bill.pending += delta["amount_pending"]
                bill.due += delta["amount_due"]
            reserving = await reserve(conn, reservations, bills)
            reserved = reserving.outcomes
            if not moved and not reserving.payments:
                raise _NothingChanged
            deltas = _merged(outgoing, reserving.deltas)
            ledger = Along(lambda params: shift_sql(params, Bill, deltas))
            completing, keys = completion(moved)
            along = [ledger] if deltas else []
            along += [completing] if completing is not None else []
            if reserving.payments:  # one statement, on PostgreSQL
                await insert_payments(conn, reserving.payments, along=along)
            else:
                await run_along(conn, along)
            if deltas and ledger.rows != len(deltas):
                raise LedgerError(f"bills {sorted(deltas)} refused their ledger moves")
            if completing is not None and completing.rows != keys:
                raise LedgerError("an idempotency key of a moved payment went missing")
            changes, succeeded = changes_of(moved)
            await feed_autopay(conn, moved)
            # Last: the outbox lock it takes is the last lock the transaction waits for.
            await write_changes(conn, reserving.changes + changes, succeeded)
    except _NothingChanged:
        moved = []
    applied = {move.payment.id for move in moved}
    answers = iter(reserved)
    return [
        next(answers)
        if isinstance(item, Reservation)
        else (item.payment if item.payment.id in applied else None)
        for item in items
    ]


def _merged(*parts: dict[int, dict[str, int]]) -> dict[int, dict[str, int]]:
    """Per bill, the sum of the parts' amounts for each ledger column (every bill names
    the same columns, as `shift_sql` needs)."""
    columns = sorted({column for part in parts for row in part.values() for column in row})
    merged: dict[int, dict[str, int]] = {}
    for part in parts:
        for bill_id, row in part.items():
            total = merged.setdefault(bill_id, dict.fromkeys(columns, 0))
            for column, amount in row.items():
                total[column] += amount
    return merged


async def transition_all(moves: Sequence[Move]) -> list[Payment | None]:
    """Apply moves of distinct payments in one ledger transaction: for each, its payment
    moved, or None if the payment had moved already."""
    answers: list[Payment | None] = []
    for done in await record_all(moves):
        if done is not None and not isinstance(done, Payment):
            raise TypeError(f"the ledger answered {done!r} to a move")
        answers.append(done)
    return answers


async def transition(
    payment: Payment,
    *,
    expected: PaymentStatus,
    to: PaymentStatus,
    bill: BillMove,
    actor_id: int | None,
    changes: dict[str, Any] | None = None,
    idempotency_record_id: int | None = None,
) -> Payment | None:
    """Move a payment from `expected` to `to` in one transaction; None if it had moved already."""
    move = Move(payment, expected, to, bill, actor_id, changes or {}, idempotency_record_id)
    return (await transition_all([move]))[0]
