"""Moving payments between states: guarded, with their bills, events and audit rows.

One transaction applies any number of moves in a few statements: the guard and the
status write are one UPDATE per (from, to) pair, so only one caller ever applies a
move; the bills' ledger columns shift in one guarded UPDATE; the audit rows, outbox
events and confirmation notifications go in as one INSERT each. A succeeded payment
gets its confirmation number. An autopay payment's new status reaches its autopay
charge in the same transaction (resolvers/autopay_outcomes.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from adapters.clock import now
from models.bills import Bill
from models.bulk import lock_rows, shift, update_rows
from models.enums import IdempotencyStatus, PaymentStatus
from models.payments import Payment
from models.records import IdempotencyRecord
from resolvers import autopay_outcomes
from resolvers.payment_states import (
    EVENT_OF,
    BillMove,
    Change,
    LedgerError,
    confirmation_number,
    write_changes,
)


@dataclass
class Move:
    """One payment's move from `expected` to `to`, and what it does to its bill."""

    payment: Payment
    expected: PaymentStatus
    to: PaymentStatus
    bill: BillMove
    actor_id: int | None
    changes: dict[str, Any] = field(default_factory=dict)
    idempotency_record_id: int | None = None


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


async def transition_all(moves: Sequence[Move]) -> list[Payment | None]:
    """Apply moves of distinct payments in one transaction: for each, its payment moved,
    or None if the payment had moved already."""
    if len({move.payment.id for move in moves}) != len(moves):
        raise ValueError("one transaction moves each payment once")
    stamp = now()
    own = [_own_values(move, stamp) for move in moves]
    async with in_transaction() as conn:
        moved = await _guarded(conn, moves, own, stamp)
        done = [move for move in moves if move.payment.id in moved]
        await _move_bills(conn, done)
        for move, values in zip(moves, own, strict=True):
            if move.payment.id in moved:
                values |= {"status": move.to, "updated_at": stamp}
                for name, value in values.items():
                    setattr(move.payment, name, value)
        completed = {
            move.idempotency_record_id: {"response": response_of(move.payment)}
            for move in done
            if move.idempotency_record_id is not None
        }
        same = {"status": IdempotencyStatus.COMPLETED}
        await update_rows(conn, IdempotencyRecord, completed, same=same)
        changes = [
            Change(move.payment, EVENT_OF[move.to], move.actor_id, {"from": move.expected.value})
            for move in done
        ]
        succeeded = [move.payment for move in done if move.to is PaymentStatus.SUCCEEDED]
        await write_changes(conn, changes, succeeded)
        for move in done:
            await autopay_outcomes.payment_moved(conn, move.payment)
    return [move.payment if move.payment.id in moved else None for move in moves]


def response_of(payment: Payment) -> dict[str, Any]:
    """What an idempotency record keeps of a payment result."""
    return {
        "payment_id": payment.id,
        "status": payment.status.value,
        "failure_code": payment.failure_code,
    }


def _own_values(move: Move, stamp: datetime) -> dict[str, Any]:
    """What a move writes besides the status and the time: its changes, and a succeeded
    payment's confirmation number and settlement time."""
    values = dict(move.changes)
    if move.to is PaymentStatus.SUCCEEDED:
        values["confirmation_number"] = confirmation_number(move.payment.id)
        values.setdefault("settled_at", stamp)
    return values


async def _guarded(
    conn: BaseDBAsyncClient,
    moves: Sequence[Move],
    own: Sequence[dict[str, Any]],
    stamp: datetime,
) -> set[int]:
    """The ids of the payments that still had the status their move expected, now moved:
    one guarded UPDATE per (from, to, columns written), each payment written once."""
    groups: dict[tuple[PaymentStatus, PaymentStatus, tuple[str, ...]], dict[int, Any]] = {}
    for move, values in zip(moves, own, strict=True):
        group = groups.setdefault((move.expected, move.to, tuple(sorted(values))), {})
        group[move.payment.id] = values
    moved: set[int] = set()
    for (expected, to, _), rows in groups.items():
        same = {"status": to, "updated_at": stamp}
        moved |= await update_rows(conn, Payment, rows, same=same, where={"status": expected})
    return moved


async def _move_bills(conn: BaseDBAsyncClient, moves: Sequence[Move]) -> None:
    """Move each payment's amount between its bill's ledger columns, guarded."""
    deltas: dict[int, dict[str, int]] = {}
    for move in moves:
        if move.bill is BillMove.NONE:
            continue
        x = move.payment.amount
        row = deltas.setdefault(
            move.payment.bill_id, {"amount_pending": 0, "amount_paid": 0, "amount_due": 0}
        )
        row["amount_pending"] -= x
        row["amount_paid" if move.bill is BillMove.SETTLE else "amount_due"] += x
    await lock_rows(conn, Bill, list(deltas))
    if await shift(conn, Bill, deltas) != len(deltas):
        raise LedgerError(f"bills {sorted(deltas)} have less pending than their payments")
