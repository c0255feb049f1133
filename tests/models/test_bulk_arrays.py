"""On PostgreSQL a batch statement binds its rows as one JSON document (and a list of
ids as one array), so its text is the same for any number of rows and asyncpg's cache
of prepared statements keeps it; SQLite binds one parameter per value. Lookups (a value
the statement reads by a key) go in either way.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from tortoise import connections

from models import AuditLog, Bill
from models.bulk import Params, shift_sql
from models.bulk_insert import Along, Lookup, insert_rows, run_along
from models.enums import PaymentStatus
from tests import factories

_AT = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _statements_sent(db: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The text of every statement with parameters sent from now on, as the driver sees it."""
    sent: list[str] = []
    if db.startswith("postgres"):
        from asyncpg.connection import Connection

        prepare = Connection._get_statement

        async def spy_pg(self: Connection, query: str, *args: object, **kwargs: object) -> object:
            sent.append(query)
            return await prepare(self, query, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Connection, "_get_statement", spy_pg)
    else:
        import aiosqlite

        fetch = aiosqlite.Connection.execute_fetchall

        async def spy_sqlite(self: aiosqlite.Connection, sql: str, *args: object) -> object:
            sent.append(sql)
            return await fetch(self, sql, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(aiosqlite.Connection, "execute_fetchall", spy_sqlite)
    return sent


async def test_the_ledgers_statements_are_the_same_for_any_batch_size_on_postgres(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from resolvers.access import load_viewer
    from resolvers.payments import pay_bill

    payers = []
    for n in range(5):
        person = await factories.member(f"batch{n}@example.org")
        bill = await factories.bill(await factories.account(person), due=10_000)
        card = await factories.card(person)
        viewer = await load_viewer(person.email, "MEMBER")
        assert viewer is not None
        payers.append((viewer, bill.id, card.id))
    sent = _statements_sent(db, monkeypatch)

    async def pay_together(count: int, tag: str) -> set[str]:
        sent.clear()
        paid = await asyncio.gather(
            *(
                pay_bill(viewer=v, bill_id=b, amount=100, method_id=m, idempotency_key=f"{tag}{n}")
                for n, (v, b, m) in enumerate(payers[:count])
            )
        )
        assert [p.status for p in paid] == [PaymentStatus.SUCCEEDED] * count
        return set(sent)

    await pay_together(1, "warm")  # asyncpg reads the array types once per connection
    two, five = await pay_together(2, "a"), await pay_together(5, "b")

    assert len(two) >= 6  # reserve, charge and record, each of several statements
    if db.startswith("postgres"):
        assert two == five
    else:
        assert two != five  # one parameter per value: the capture does see a difference
    dues = await Bill.filter(id__in=[b for _, b, _ in payers]).values_list("amount_due", flat=True)
    assert sorted(dues) == [9_700, 9_800, 9_900, 9_900, 9_900]


async def test_is_in_matches_ints_and_strings_and_refuses_an_empty_list(db: str) -> None:
    holder = await factories.member()
    bills = [await factories.bill(await factories.account(holder), due=100) for _ in range(3)]
    conn = connections.get("default")

    async def ids_where(column: str, values: list[int] | list[str]) -> list[int]:
        p = Params(conn)
        sql = f'SELECT "id" FROM "bill" WHERE {p.is_in(column, values)} ORDER BY "id"'
        return [row["id"] for row in await conn.execute_query_dict(sql, p.values)]

    assert await ids_where("id", [bills[2].id, bills[0].id, 10**9]) == [bills[0].id, bills[2].id]
    numbers = [bills[1].statement_number, "no such statement"]
    assert await ids_where("statement_number", numbers) == [bills[1].id]
    with pytest.raises(ValueError, match="at least one"):
        Params(conn).is_in("id", [])


async def test_a_column_mixes_lookups_and_plain_values_row_by_row(db: str) -> None:
    holder = await factories.member()
    bills = [await factories.bill(await factories.account(holder), due=100) for _ in range(2)]
    by_number = '(SELECT "id" FROM "bill" WHERE "statement_number" = {})'

    def audit(entity: int | Lookup) -> dict[str, object]:
        return {"action": "x", "entity_type": "bill", "entity_id": entity, "created_at": _AT}

    rows = [
        audit(Lookup(by_number, bills[1].statement_number, "VARCHAR")),
        audit(77),
        audit(Lookup(by_number, bills[0].statement_number, "VARCHAR")),
    ]
    await insert_rows(connections.get("default"), AuditLog, rows)

    stored = await AuditLog.all().order_by("id").values_list("entity_id", flat=True)
    assert stored == [bills[1].id, 77, bills[0].id]


async def test_a_plain_value_stands_beside_a_lookup_that_would_answer_for_no_key(
    db: str,
) -> None:
    holder = await factories.member()
    bill = await factories.bill(await factories.account(holder), due=100)
    # count(*) answers 0, not NULL, where nothing matches: the plain row must keep 77.
    counted = Lookup('(SELECT count(*) FROM "bill" WHERE "statement_number" = {})', "", "VARCHAR")
    rows = [
        {"action": "x", "entity_type": "t", "entity_id": entity, "created_at": _AT}
        for entity in (77, Lookup(counted.template, bill.statement_number, "VARCHAR"), counted)
    ]
    await insert_rows(connections.get("default"), AuditLog, rows)

    assert await AuditLog.all().order_by("id").values_list("entity_id", flat=True) == [77, 1, 0]
    with pytest.raises(ValueError, match="needs a key"):
        Lookup(counted.template, None, "VARCHAR")


async def test_lookups_of_one_column_must_share_their_sql(db: str) -> None:
    rows = [
        {"action": "x", "entity_type": "t", "entity_id": Lookup(sql, "k", "VARCHAR")}
        for sql in ("(SELECT 1 WHERE {} IS NOT NULL)", "(SELECT 2 WHERE {} IS NOT NULL)")
    ]
    with pytest.raises(ValueError, match="differ"):
        await insert_rows(connections.get("default"), AuditLog, rows)


async def test_is_in_refuses_a_mix_of_ints_and_strings(db: str) -> None:
    with pytest.raises(TypeError, match="not a mix"):
        Params(connections.get("default")).is_in("id", [1, "2"])  # type: ignore[list-item]


async def test_a_shift_that_one_row_refuses_changes_only_the_other(db: str) -> None:
    holder = await factories.member()
    acct = await factories.account(holder)
    first, second = [await factories.bill(acct, due=100) for _ in range(2)]
    deltas = {
        second.id: {"amount_due": -500, "amount_pending": 500},  # more than is due
        first.id: {"amount_due": -40, "amount_pending": 40},
    }

    ledger = Along(lambda p: shift_sql(p, Bill, deltas))
    await run_along(connections.get("default"), [ledger])
    assert ledger.rows == 1

    rows = await Bill.filter(id__in=[first.id, second.id]).order_by("id")
    assert [(b.amount_due, b.amount_pending) for b in rows] == [(60, 40), (100, 0)]


async def test_a_card_payment_costs_eight_statements_on_postgres(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every statement of the ledger's serial path is a round trip on which a busy
    server's event loop makes the whole batch wait, so they are counted: reserving is
    four (bills locked, claims with the methods read, payments with the ledger moves,
    audit rows with events), the charge one, recording three (payment moved with the
    bills locked, ledger moves with the keys' answers, audit rows with events)."""
    from resolvers.access import load_viewer
    from resolvers.payments import pay_bill

    person = await factories.member()
    bill = await factories.bill(await factories.account(person), due=10_000)
    card = await factories.card(person)
    viewer = await load_viewer(person.email, "MEMBER")
    assert viewer is not None

    async def pay(key: str) -> list[str]:
        sent.clear()
        paid = await pay_bill(
            viewer=viewer, bill_id=bill.id, amount=100, method_id=card.id, idempotency_key=key
        )
        assert paid.status is PaymentStatus.SUCCEEDED
        return list(sent)

    sent = _statements_sent(db, monkeypatch)
    await pay("warm")  # asyncpg reads the JSON and array types once per connection
    statements = await pay("counted")

    if db.startswith("postgres"):
        assert len(statements) == 8
    else:
        assert len(statements) > 8  # one statement each: nothing rides in another's WITH
    assert (await Bill.get(id=bill.id)).amount_due == 9_800
