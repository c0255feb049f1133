"""Moving payments between states, inside the ledger transaction of
resolvers/payment_ledger.py.

The guard and the status write are one UPDATE per (from, to) pair, so only one caller
ever applies a move (`move_payments`). What the moves do to their bills' ledger columns
comes back as deltas for the ledger's one guarded bill UPDATE (`bill_deltas`). Then
`completion` writes the moves' answers on their idempotency keys (in the same statement
as that UPDATE), and `changes_of` gives the audit rows, outbox events and confirmations
to write. A succeeded payment gets its confirmation number. An autopay payment's new
status reaches its autopay charge in the same transaction (`feed_autopay`,
resolvers/autopay_outcomes.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from adapters.clock import now
from models.bulk import Then, update_rows, update_sql
from models.bulk_insert import Along
from models.enums import IdempotencyStatus, PaymentStatus
from models.payments import Payment
from models.records import IdempotencyRecord
from resolvers import autopay_outcomes
from resolvers.payment_states import (
    EVENT_OF,
    BillMove,
    Change,
    confirmation_number,
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


async def move_payments(
    conn: BaseDBAsyncClient, moves: Sequence[Move], *, then: Then | None = None
) -> list[Move]:
    """Apply the moves of distinct payments that still have the status they expect; the
    moves applied, their payments updated in memory. `then` rides on the last UPDATE."""
    if len({move.payment.id for move in moves}) != len(moves):
        raise ValueError("one transaction moves each payment once")
    if not moves:
        return []
    stamp = now()
    own = [_own_values(move, stamp) for move in moves]
    moved = await _guarded(conn, moves, own, stamp, then)
    done = []
    for move, values in zip(moves, own, strict=True):
        if move.payment.id in moved:
            values |= {"status": move.to, "updated_at": stamp}
            for name, value in values.items():
                setattr(move.payment, name, value)
            done.append(move)
    return done


def bill_deltas(done: Sequence[Move]) -> dict[int, dict[str, int]]:
    """What applied moves do to their bills: each amount leaves pending for paid or due."""
    deltas: dict[int, dict[str, int]] = {}
    for move in done:
        if move.bill is BillMove.NONE:
            continue
        x = move.payment.amount
        row = deltas.setdefault(
            move.payment.bill_id, {"amount_pending": 0, "amount_paid": 0, "amount_due": 0}
        )
        row["amount_pending"] -= x
        row["amount_paid" if move.bill is BillMove.SETTLE else "amount_due"] += x
    return deltas


def completion(done: Sequence[Move]) -> tuple[Along | None, int]:
    """The statement that records each applied move's answer on its idempotency key (for
    `run_along`, or along an INSERT), if any has a key, and how many keys it completes."""
    completed = {
        move.idempotency_record_id: {"response": response_of(move.payment)}
        for move in done
        if move.idempotency_record_id is not None
    }
    if not completed:
        return None, 0
    same = {"status": IdempotencyStatus.COMPLETED}
    return Along(lambda p: update_sql(p, IdempotencyRecord, completed, same=same)), len(completed)


def changes_of(done: Sequence[Move]) -> tuple[list[Change], list[Payment]]:
    """Each applied move's audit row and event, and the payments that succeeded (their
    confirmations), for `write_changes`."""
    changes = [
        Change(move.payment, EVENT_OF[move.to], move.actor_id, {"from": move.expected.value})
        for move in done
    ]
    succeeded = [move.payment for move in done if move.to is PaymentStatus.SUCCEEDED]
    return changes, succeeded


async def feed_autopay(conn: BaseDBAsyncClient, done: Sequence[Move]) -> None:
    """Autopay payments' new statuses reach their autopay charges; before `write_changes`,
    whose outbox lock comes last (autopay takes its enrollments' row locks)."""
    for move in done:
        await autopay_outcomes.payment_moved(conn, move.payment)


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
    then: Then | None,
) -> set[int]:
    """The ids of the payments that still had the status their move expected, now moved:
    one guarded UPDATE per (from, to, columns written), each payment written once."""
    groups: dict[tuple[PaymentStatus, PaymentStatus, tuple[str, ...]], dict[int, Any]] = {}
    for move, values in zip(moves, own, strict=True):
        group = groups.setdefault((move.expected, move.to, tuple(sorted(values))), {})
        group[move.payment.id] = values
    moved: set[int] = set()
    last = len(groups) - 1
    for n, ((expected, to, _), rows) in enumerate(groups.items()):
        same = {"status": to, "updated_at": stamp}
        where = {"status": expected}
        after = then if n == last else None
        moved |= await update_rows(conn, Payment, rows, same=same, where=where, then=after)
    return moved
