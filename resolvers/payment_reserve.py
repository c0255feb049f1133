"""Reserving new payments, inside the ledger transaction of resolvers/payment_ledger.py.

The bills are already locked in id order (`bill_lock`). `reserve` refuses each request
for a bill the member may not see or pay, or with an amount the bill's currency cannot
hold. Its first write claims every remaining idempotency key at once, so a concurrent
request with one of them blocks on the unique (member, key) index and then finds the
claim; the same statement reads the requests' payment methods, and a request whose
method is not the member's, or is removed or expired, is refused. The locked bills
decide in order which amounts fit, and one INSERT records the PENDING payments. A
refused request's claim is deleted in the same transaction: only requests that changed
something keep their key.
The caller moves the amounts from due to pending and writes the audit rows and events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from adapters.clock import now, today
from models.bulk import Params, Then
from models.bulk_insert import Along, insert_many
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
from models.unsaved import unsaved
from models.validation import InvalidAmount
from resolvers import idempotency
from resolvers.access import Viewer
from resolvers.errors import Forbidden
from resolvers.idempotency import Claim, claim_all
from resolvers.payment_errors import PaymentError
from resolvers.payment_states import Change

OPERATION = "payBill"


@dataclass(frozen=True)
class Reservation:
    """One payBill request as asked: `to_minor` turns its amount into minor units of the
    bill's currency (InvalidAmount if it cannot)."""

    viewer: Viewer
    bill_id: int
    method_id: int
    to_minor: Callable[[str], int]
    source: PaymentSource
    key: str
    processor_key: str


@dataclass(frozen=True)
class Reserved:
    """A PENDING payment, the method it is paid with, and the idempotency claim it holds."""

    payment: Payment
    method: PaymentMethod
    claim_id: int


class KeyTaken(idempotency.KeyTaken):
    """The request's key is claimed already; its fingerprint tells a replay from a reuse."""

    def __init__(self, request_hash: str) -> None:
        super().__init__()
        self.request_hash = request_hash


@dataclass
class LockedBill:
    """A bill as its row lock found it; `due` and `pending` follow the batch's moves."""

    id: int
    account_id: int
    currency: str
    due: int
    pending: int
    voided: bool


@dataclass(frozen=True)
class _Checked:
    """A request that passed the checks that need no claim."""

    request: Reservation
    bill: LockedBill
    amount: int
    request_hash: str


@dataclass
class Reserving:
    """What `reserve` decided: each request's PENDING payment (not yet inserted) or
    refusal, and the amounts to move from due to pending. The caller inserts `payments`
    (`insert_payments`) and then writes their `changes`."""

    outcomes: list[Reserved | Exception]
    payments: list[Payment]

    @property
    def deltas(self) -> dict[int, dict[str, int]]:
        """Per bill, what its new payments move from due to pending."""
        deltas: dict[int, dict[str, int]] = {}
        for payment in self.payments:
            row = deltas.setdefault(payment.bill_id, {"amount_due": 0, "amount_pending": 0})
            row["amount_due"] -= payment.amount
            row["amount_pending"] += payment.amount
        return deltas

    @property
    def changes(self) -> list[Change]:
        """The audit rows and PAYMENT_CREATED events of the new payments."""
        created = PaymentEventType.PAYMENT_CREATED
        return [Change(p, created, p.member_id) for p in self.payments]


def bill_lock(ids: Sequence[int], dialect: str) -> Then:
    """The statement that locks the bills and reads their ledgers (`locked_bills` reads
    its rows); a bill that does not exist is left out.

    PostgreSQL locks the rows in id order, so that two transactions never wait on each
    other in a circle; NO KEY UPDATE, not UPDATE, so that the key-share locks inserts
    take for their foreign keys (a new payment's bill) do not conflict with it. SQLite
    has one writer at a time: a write that changes nothing takes the database's write
    lock first, waiting its busy timeout, because a transaction that read first and
    then writes fails at once if another process wrote in between."""
    columns = '"id", "account_id", "currency", "amount_due", "amount_pending", "voided_at"'

    def sql(p: Params, gate: str) -> str:
        wanted = f"{gate} AND {p.is_in('id', sorted(ids))}"
        if dialect == "postgres":
            return f'SELECT {columns} FROM "bill" WHERE {wanted} ORDER BY "id" FOR NO KEY UPDATE'
        return f'UPDATE "bill" SET "amount_due" = "amount_due" WHERE {wanted} RETURNING {columns}'

    return Then(sql)


def locked_bills(rows: Sequence[Mapping[str, Any]]) -> dict[int, LockedBill]:
    """The bills `bill_lock` read, by id."""
    return {
        row["id"]: LockedBill(
            row["id"],
            row["account_id"],
            row["currency"],
            int(row["amount_due"]),
            int(row["amount_pending"]),
            row["voided_at"] is not None,
        )
        for row in rows
    }


async def reserve(
    conn: BaseDBAsyncClient, requests: Sequence[Reservation], bills: Mapping[int, LockedBill]
) -> Reserving:
    """Check, claim and reserve each request against its locked bill, in request order."""
    outcomes: list[Reserved | Exception | None] = [None] * len(requests)
    if not requests:
        return Reserving([], [])
    checked = _check(requests, bills, outcomes)
    read = _methods_read(sorted({r.method_id for r in requests}))
    claims = await _claim(conn, checked, outcomes, read)
    rows = await read.read(conn) if claims else []  # with no claim, no method is needed
    found = {method.id: method for method in map(_method, rows)}
    methods: dict[int, PaymentMethod] = {}
    for n, item in checked.items():
        if outcomes[n] is None:
            method = found.get(item.request.method_id)
            member_id = item.request.viewer.member.id
            mine = method if method is not None and method.member_id == member_id else None
            try:
                methods[n] = _usable(mine)
            except PaymentError as exc:
                outcomes[n] = exc
    _decide(checked, outcomes)
    kept = [n for n, outcome in enumerate(outcomes) if outcome is None]
    refused = [claim.id for n, claim in claims.items() if n not in kept]
    if refused:
        p = Params(conn)
        sql = f'DELETE FROM "idempotency_record" WHERE {p.is_in("id", refused)}'
        await conn.execute_query(sql, p.values)
    stamp = now()
    payments = []
    for n in kept:
        payment = _payment(checked[n], methods[n], stamp)
        outcomes[n] = Reserved(payment, methods[n], claims[n].id)
        payments.append(payment)
    return Reserving([RuntimeError("no outcome") if o is None else o for o in outcomes], payments)


def _check(
    requests: Sequence[Reservation],
    bills: Mapping[int, LockedBill],
    outcomes: list[Reserved | Exception | None],
) -> dict[int, _Checked]:
    """Refuse each request whose bill is not the member's to see or pay, or whose amount
    its currency cannot hold."""
    checked: dict[int, _Checked] = {}
    for n, request in enumerate(requests):
        viewer = request.viewer
        bill = bills.get(request.bill_id)
        if bill is None or not viewer.can_see(bill.account_id):
            outcomes[n] = PaymentError(
                PaymentErrorCode.BILL_NOT_FOUND, "There is no such bill.", ["billId"]
            )
            continue
        if not viewer.can_pay(bill.account_id):
            outcomes[n] = Forbidden(
                "Your access to this account does not include paying its bills."
            )
            continue
        try:
            amount = request.to_minor(bill.currency)
        except InvalidAmount as exc:
            message = str(exc)
            outcomes[n] = PaymentError(
                PaymentErrorCode.INVALID_AMOUNT, message[:1].upper() + message[1:] + ".", ["amount"]
            )
            continue
        asked = {
            "bill": bill.id,
            "amount": amount,
            "method": request.method_id,
            "source": request.source.value,
        }
        request_hash = idempotency.fingerprint(OPERATION, asked)
        checked[n] = _Checked(request, bill, amount, request_hash)
    return checked


def _methods_read(ids: Sequence[int]) -> Then:
    """The SELECT of the payment methods the requests name (after the claims)."""

    def sql(p: Params, gate: str) -> str:
        return f'SELECT * FROM "payment_method" WHERE {gate} AND {p.is_in("id", ids)}'

    return Then(sql)


def _method(row: dict[str, Any]) -> PaymentMethod:
    return PaymentMethod._init_from_db(**row)


async def _claim(
    conn: BaseDBAsyncClient,
    checked: dict[int, _Checked],
    outcomes: list[Reserved | Exception | None],
    then: Then,
) -> dict[int, IdempotencyRecord]:
    """Claim the key of every request still standing (the first write), `then` reading
    after it; a key already claimed, by another request or an earlier one in this batch,
    is KeyTaken."""
    order = list(checked)
    claims = [
        Claim(
            c.request.viewer.member.id,
            c.request.key,
            OPERATION,
            c.request_hash,
            {"processor_key": c.request.processor_key},
        )
        for c in (checked[n] for n in order)
    ]
    records = await claim_all(conn, claims, then=then) if claims else []
    mine: dict[int, IdempotencyRecord] = {}
    for n, record in zip(order, records, strict=True):
        if record is None:
            outcomes[n] = KeyTaken(checked[n].request_hash)
        else:
            mine[n] = record
    return mine


def _decide(checked: dict[int, _Checked], outcomes: list[Reserved | Exception | None]) -> None:
    """Take each amount that fits from its bill's due, in request order; refuse the rest."""
    for n, item in checked.items():
        if outcomes[n] is not None:
            continue
        bill = item.bill
        if bill.voided or bill.due < item.amount:
            outcomes[n] = _refusal(bill, item.amount)
            continue
        bill.due -= item.amount


async def insert_payments(
    conn: BaseDBAsyncClient, payments: Sequence[Payment], *, along: Sequence[Along] = ()
) -> None:
    """Insert new payments, and the `along` statements with them (the ledger UPDATE, say)."""
    unique = ("processor_idempotency_key",)
    if len(await insert_many(conn, payments, unique=unique, along=along)) != len(payments):
        raise RuntimeError("a new payment's processor key was not new")


def _payment(item: _Checked, method: PaymentMethod, stamp: datetime) -> Payment:
    """The PENDING payment of a request that fits, unsaved."""
    return unsaved(
        Payment,
        bill_id=item.bill.id,
        account_id=item.bill.account_id,
        member_id=item.request.viewer.member.id,
        method_id=method.id,
        amount=item.amount,
        currency=item.bill.currency,
        status=PaymentStatus.PENDING,
        kind=PaymentKind.ACH if method.kind is PaymentMethodKind.ACH else PaymentKind.CARD,
        source=item.request.source,
        processor_idempotency_key=item.request.processor_key,
        created_at=stamp,
        updated_at=stamp,
    )


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


def _refusal(bill: LockedBill, amount: int) -> PaymentError:
    if bill.voided:
        return PaymentError(PaymentErrorCode.BILL_NOT_PAYABLE, "This bill was voided.", ["billId"])
    if bill.due == 0:
        return PaymentError(
            PaymentErrorCode.BILL_NOT_PAYABLE, "Nothing is due on this bill.", ["billId"]
        )
    formatted = Money(bill.due, bill.currency).formatted
    return PaymentError(
        PaymentErrorCode.AMOUNT_EXCEEDS_BALANCE,
        f"The amount is more than the {formatted} due on this bill.",
        ["amount"],
    )
