"""Multi-row statements: rows inserted from field values, a statement run along an
INSERT (inside its WITH on PostgreSQL) that reports the rows it changed, and a SELECT
run after a guarded UPDATE (in the same statement on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from models import AuditLog, Bill, IdempotencyRecord, Payment
from models.bulk import Params, Then, shift_sql, update_rows, update_sql
from models.bulk_insert import Along, insert_many, insert_rows, run_along
from models.enums import PaymentKind, PaymentStatus
from tests import factories

_AT = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _record(member_id: int, key: str) -> IdempotencyRecord:
    return IdempotencyRecord(
        member_id=member_id,
        key=key,
        operation="test",
        request_hash="h",
        status="IN_PROGRESS",
        response={"k": key},
        created_at=_AT,
        expires_at=_AT,
    )


async def test_rows_from_field_values_read_back_as_written(db: str) -> None:
    rows = [
        {"action": "a", "entity_type": "t", "entity_id": n, "data": {"n": n}, "created_at": _AT}
        for n in (1, 2)
    ]
    await insert_rows(connections.get("default"), AuditLog, rows)

    stored = await AuditLog.all().order_by("id")
    assert [(r.entity_id, r.data, r.created_at, r.actor_id) for r in stored] == [
        (1, {"n": 1}, _AT, None),
        (2, {"n": 2}, _AT, None),
    ]


async def test_a_statement_along_an_insert_reports_its_rows_and_both_apply(db: str) -> None:
    jo = await factories.member()
    acct = await factories.account(jo)
    bills = [await factories.bill(acct, due=1_000) for _ in range(2)]
    fits = {b.id: {"amount_due": -400, "amount_pending": 400} for b in bills}
    too_much = {bills[0].id: {"amount_due": -5_000, "amount_pending": 5_000}}

    async with in_transaction() as conn:
        ledger = Along(lambda p: shift_sql(p, Bill, fits))
        records = [_record(jo.id, "a"), _record(jo.id, "b")]
        inserted = await insert_many(conn, records, unique=("member_id", "key"), along=[ledger])
        refused = Along(lambda p: shift_sql(p, Bill, too_much))
        await insert_many(conn, [_record(jo.id, "c")], unique=("member_id", "key"), along=[refused])

    assert ledger.rows == 2  # both bills changed
    assert refused.rows == 0  # the guard held: no bill below zero
    assert [r.id is not None for r in inserted] == [True, True]
    dues = await Bill.filter(id__in=[b.id for b in bills]).values_list("amount_due", flat=True)
    assert sorted(dues) == [600, 600]
    assert await IdempotencyRecord.all().count() == 3


async def test_statements_run_together_each_report_their_rows_with_or_without_an_insert(
    db: str,
) -> None:
    jo = await factories.member()
    bill = await factories.bill(await factories.account(jo), due=1_000)
    async with in_transaction() as conn:
        held = await insert_many(conn, [_record(jo.id, "held")], unique=("member_id", "key"))
    done = {"status": "COMPLETED"}

    async with in_transaction() as conn:
        ledger = Along(
            lambda p: shift_sql(p, Bill, {bill.id: {"amount_due": -100, "amount_pending": 100}})
        )
        answer = Along(lambda p: update_sql(p, IdempotencyRecord, {held[0].id: {"response": None}}))
        await insert_many(
            conn, [_record(jo.id, "new")], unique=("member_id", "key"), along=[ledger, answer]
        )
        again = Along(
            lambda p: shift_sql(p, Bill, {bill.id: {"amount_due": -5_000, "amount_pending": 5_000}})
        )
        marked = Along(lambda p: update_sql(p, IdempotencyRecord, {held[0].id: done}))
        nobody = Along(lambda p: update_sql(p, IdempotencyRecord, {-1: done}))
        await run_along(conn, [again, marked, nobody])
        await run_along(conn, [])

    assert (ledger.rows, answer.rows) == (1, 1)
    assert (again.rows, marked.rows, nobody.rows) == (0, 1, 0)  # the shift's guard held
    assert (await Bill.get(id=bill.id)).amount_due == 900
    stored = {r.key: (r.status, r.response) for r in await IdempotencyRecord.all()}
    assert stored == {"held": ("COMPLETED", None), "new": ("IN_PROGRESS", {"k": "new"})}


async def test_a_select_after_an_insert_reads_its_rows_whether_or_not_any_row_went_in(
    db: str,
) -> None:
    jo = await factories.member()
    acct = await factories.account(jo)
    bill = await factories.bill(acct, due=1_000)
    unique = ("member_id", "key")

    async with in_transaction() as conn:
        first = _bills_named([bill.id])
        records = [_record(jo.id, "a"), _record(jo.id, "b")]
        inserted = await insert_many(conn, records, unique=unique, skip_conflicts=True, then=first)
        again = _bills_named([bill.id, -1])
        retried = [_record(jo.id, "b"), _record(jo.id, "c")]
        partly = await insert_many(conn, retried, unique=unique, skip_conflicts=True, then=again)
        none = _bills_named([-1])
        taken = await insert_many(
            conn, [_record(jo.id, "a")], unique=unique, skip_conflicts=True, then=none
        )

    with pytest.raises(ValueError, match="tell rows apart"):
        await insert_many(conn, [_record(jo.id, "d")], then=_bills_named([bill.id]))
    assert [r.key for r in inserted] == ["a", "b"]
    assert [r.key for r in partly] == ["c"]  # "b" was claimed already
    assert taken == []
    stored = {r.key: r.id for r in await IdempotencyRecord.all()}
    assert [r.id for r in inserted + partly] == [stored["a"], stored["b"], stored["c"]]
    for read in (first, again):
        assert [(r["id"], r["amount_due"]) for r in await read.read(conn)] == [(bill.id, 1_000)]
    assert await none.read(conn) == []


def _bills_named(ids: list[int]) -> Then:
    def sql(p: Params, gate: str) -> str:
        return f'SELECT "id", "amount_due" FROM "bill" WHERE {gate} AND {p.is_in("id", ids)}'

    return Then(sql)


async def test_a_select_after_an_update_reads_its_rows_whether_or_not_the_update_changed_any(
    db: str,
) -> None:
    jo = await factories.member()
    acct = await factories.account(jo)
    bill = await factories.bill(acct, due=1_000)
    other = await factories.bill(acct, due=2_000)
    payment = await Payment.create(
        bill=bill,
        account=acct,
        member=jo,
        method=await factories.card(jo),
        amount=100,
        kind=PaymentKind.CARD,
        status=PaymentStatus.PENDING,
        processor_idempotency_key="then-1",
        created_at=_AT,
        updated_at=_AT,
    )
    moved = {payment.id: {"failure_code": "X"}}
    pending = {"status": PaymentStatus.PENDING}

    async with in_transaction() as conn:
        first = _bills_named([bill.id, other.id])
        changed = await update_rows(
            conn, Payment, moved, same={"status": PaymentStatus.FAILED}, where=pending, then=first
        )
        again = _bills_named([bill.id])
        unchanged = await update_rows(
            conn, Payment, moved, same={"status": PaymentStatus.FAILED}, where=pending, then=again
        )
        none = _bills_named([-1])
        await update_rows(conn, Payment, moved, same={}, where=pending, then=none)
        alone = _bills_named([other.id])
        read = await alone.read(conn)

    assert changed == {payment.id}
    assert sorted((r["id"], r["amount_due"]) for r in await first.read(conn)) == [
        (bill.id, 1_000),
        (other.id, 2_000),
    ]
    assert unchanged == set()  # the guard held: the payment had moved already
    assert [(r["id"], r["amount_due"]) for r in await again.read(conn)] == [(bill.id, 1_000)]
    assert await none.read(conn) == []
    assert [r["id"] for r in read] == [other.id]
    stored = await Payment.get(id=payment.id)
    assert (stored.status, stored.failure_code) == (PaymentStatus.FAILED, "X")
