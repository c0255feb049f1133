"""The first step of paying bills: claim each key, reserve each amount, record each payment.

One transaction takes any number of payments (models/group_commit.py batches the
concurrent ones). Its first write claims every idempotency key at once, so a
concurrent request with one of them blocks on the unique (member, key) index and then
finds the claim. Then the bills, locked, decide in order which amounts fit; one
guarded UPDATE moves those from due to pending, and one INSERT each records the
PENDING payments, their audit rows and their outbox events. A refused payment's claim
is deleted in the same transaction: only requests that changed something keep their
key, and if none did the transaction rolls back whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from adapters.clock import now, today
from models.bills import Bill
from models.bulk import Params, for_update, insert_many, shift
from models.enums import (
    PaymentErrorCode,
    PaymentEventType,
    PaymentKind,
    PaymentMethodKind,
    PaymentMethodStatus,
    PaymentSource,
    PaymentStatus,
)
from models.money import Money
from models.payments import Payment, PaymentMethod
from models.records import IdempotencyRecord
from resolvers.idempotency import Claim, KeyTaken, claim_all
from resolvers.payment_errors import PaymentError
from resolvers.payment_states import Change, write_changes

OPERATION = "payBill"


@dataclass(frozen=True)
class Reservation:
    """One payBill request, checked and read: what its first transaction needs."""

    member_id: int
    bill: Bill
    method: PaymentMethod | None
    amount: int
    source: PaymentSource
    key: str
    request_hash: str
    processor_key: str


@dataclass(frozen=True)
class Reserved:
    """A PENDING payment and the id of the idempotency claim it holds."""

    payment: Payment
    claim_id: int


@dataclass(frozen=True)
class Lookup:
    """What a payBill request names: a bill, and one of the member's saved methods."""

    bill_id: int
    method_id: int
    member_id: int


async def look_up_all(lookups: Sequence[Lookup]) -> list[tuple[Bill | None, PaymentMethod | None]]:
    """For each lookup, its bill and its method (None where there is none, or the method is
    another member's): two queries however many there are."""
    bills = {b.id: b for b in await Bill.filter(id__in={x.bill_id for x in lookups})}
    wanted = {x.method_id for x in lookups}
    methods = {m.id: m for m in await PaymentMethod.filter(id__in=wanted)}
    return [
        (
            bills.get(x.bill_id),
            m if (m := methods.get(x.method_id)) and m.member_id == x.member_id else None,
        )
        for x in lookups
    ]


class _NothingKept(Exception):
    """Every request was refused: roll the whole transaction back."""


async def reserve_all(requests: Sequence[Reservation]) -> list[Reserved | Exception]:
    """For each request, its PENDING payment, or what refused it (KeyTaken, PaymentError)."""
    outcomes: list[Reserved | Exception | None] = [None] * len(requests)
    try:
        async with in_transaction() as conn:
            claims = await _claim(conn, requests, outcomes)
            for n, request in enumerate(requests):
                if outcomes[n] is None:
                    try:
                        _usable(request.method)
                    except PaymentError as exc:
                        outcomes[n] = exc
            await _reserve(conn, requests, outcomes)
            kept = [n for n, outcome in enumerate(outcomes) if outcome is None]
            if not kept:
                raise _NothingKept
            refused = [claim.id for n, claim in claims.items() if n not in kept]
            if refused:
                p = Params(conn)
                sql = f'DELETE FROM "idempotency_record" WHERE "id" IN ({p.many(refused)})'
                await conn.execute_query(sql, p.values)
            payments = await _record(conn, [requests[n] for n in kept])
            for n, payment in zip(kept, payments, strict=True):
                outcomes[n] = Reserved(payment, claims[n].id)
    except _NothingKept:
        pass
    return [RuntimeError("no outcome") if o is None else o for o in outcomes]


async def _claim(
    conn: BaseDBAsyncClient,
    requests: Sequence[Reservation],
    outcomes: list[Reserved | Exception | None],
) -> dict[int, IdempotencyRecord]:
    """Claim every key (the first write); a key already claimed, by another request or an
    earlier one in this batch, is KeyTaken."""
    claims = [
        Claim(r.member_id, r.key, OPERATION, r.request_hash, {"processor_key": r.processor_key})
        for r in requests
    ]
    records = await claim_all(conn, claims)
    for n, record in enumerate(records):
        if record is None:
            outcomes[n] = KeyTaken()
    return {n: record for n, record in enumerate(records) if record is not None}


async def _reserve(
    conn: BaseDBAsyncClient,
    requests: Sequence[Reservation],
    outcomes: list[Reserved | Exception | None],
) -> None:
    """Move each amount that fits from due to pending, in request order; refuse the rest."""
    ids = sorted({requests[n].bill.id for n, o in enumerate(outcomes) if o is None})
    if not ids:
        return
    p = Params(conn)
    columns = '"id", "amount_due", "voided_at" IS NOT NULL AS "voided"'
    sql = f'SELECT {columns} FROM "bill" WHERE "id" IN ({p.many(ids)}) ORDER BY "id"'
    rows = await conn.execute_query_dict(sql + for_update(conn), p.values)
    due = {row["id"]: int(row["amount_due"]) for row in rows}
    voided = {row["id"] for row in rows if row["voided"]}
    deltas: dict[int, dict[str, int]] = {}
    for n, request in enumerate(requests):
        bill_id = request.bill.id
        if outcomes[n] is not None:
            continue
        if bill_id not in due:  # gone since it was read: refused as a lone request would be
            outcomes[n] = PaymentError(
                PaymentErrorCode.BILL_NOT_FOUND, "There is no such bill.", ["billId"]
            )
            continue
        if bill_id in voided or due[bill_id] < request.amount:
            outcomes[n] = _refusal(bill_id in voided, due[bill_id], request)
            continue
        due[bill_id] -= request.amount
        row = deltas.setdefault(bill_id, {"amount_due": 0, "amount_pending": 0})
        row["amount_due"] -= request.amount
        row["amount_pending"] += request.amount
    if await shift(conn, Bill, deltas, where='"voided_at" IS NULL') != len(deltas):
        raise RuntimeError(f"bills {sorted(deltas)} changed under their row locks")


async def _record(conn: BaseDBAsyncClient, requests: Sequence[Reservation]) -> list[Payment]:
    """Insert the PENDING payments, with their audit rows and outbox events."""
    stamp = now()
    payments = [
        Payment(
            bill_id=request.bill.id,
            account_id=request.bill.account_id,
            member_id=request.member_id,
            method_id=method.id,
            amount=request.amount,
            currency=request.bill.currency,
            status=PaymentStatus.PENDING,
            kind=PaymentKind.ACH if method.kind is PaymentMethodKind.ACH else PaymentKind.CARD,
            source=request.source,
            processor_idempotency_key=request.processor_key,
            created_at=stamp,
            updated_at=stamp,
        )
        for request, method in ((r, _usable(r.method)) for r in requests)
    ]
    if len(await insert_many(conn, payments, unique=("processor_idempotency_key",))) != len(
        payments
    ):
        raise RuntimeError("a new payment's processor key was not new")
    created = PaymentEventType.PAYMENT_CREATED
    await write_changes(conn, [Change(p, created, p.member_id) for p in payments])
    return payments


def _usable(method: PaymentMethod | None) -> PaymentMethod:
    if method is None or method.status is PaymentMethodStatus.REMOVED:
        raise PaymentError(
            PaymentErrorCode.PAYMENT_METHOD_NOT_FOUND,
            "There is no such payment method.",
            ["paymentMethodId"],
        )
    day = today()
    expired = method.exp_year is not None and (method.exp_year, method.exp_month or 12) < (
        day.year,
        day.month,
    )
    if method.status is PaymentMethodStatus.EXPIRED or expired:
        raise PaymentError(
            PaymentErrorCode.PAYMENT_METHOD_EXPIRED,
            "This card has expired. Choose another payment method.",
            ["paymentMethodId"],
        )
    return method


def _refusal(voided: bool, due: int, request: Reservation) -> PaymentError:
    if voided:
        return PaymentError(PaymentErrorCode.BILL_NOT_PAYABLE, "This bill was voided.", ["billId"])
    if due == 0:
        return PaymentError(
            PaymentErrorCode.BILL_NOT_PAYABLE, "Nothing is due on this bill.", ["billId"]
        )
    formatted = Money(due, request.bill.currency).formatted
    return PaymentError(
        PaymentErrorCode.AMOUNT_EXCEEDS_BALANCE,
        f"The amount is more than the {formatted} due on this bill.",
        ["amount"],
    )
