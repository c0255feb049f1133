"""Awkward values through the batch statements: each reads back exactly as Tortoise's own
`create` writes it, on both backends. On PostgreSQL a batch's rows go in as one JSON
document (models/bulk.py), so these are the values JSON could change on the way:
quotes, backslashes and characters beyond ASCII, text that is itself JSON or the word
null, times with microseconds and other offsets, the largest integers, dates, booleans,
and a JSON column's SQL NULL next to its JSON value null."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from tortoise import connections

from models import AuditLog, Bill, IdempotencyRecord, PaymentMethod, SandboxCharge
from models.bulk import shift_sql, update_rows
from models.bulk_insert import Along, insert_rows, run_along
from tests import factories

_AT = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
_KOLKATA = timezone(timedelta(hours=5, minutes=30))
TEXTS = [
    'say "hi"',
    "back\\slash \\n not a newline",
    "line\nbreak\ttab",
    "café 🧾 Zürich 東京",
    '{"looks": "like json"}',
    "null",
    "",
    "x" * 60,
]
DATA: list[dict[str, Any]] = [
    {"nested": [1, 2.5, "é", None, {"b": True}], "quote": '"', "big": 2**62},
    {},
    {"null": None},
]
BIG = 2**63 - 1


def _audit(n: int, action: str, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {"action": action, "entity_type": "t", "entity_id": n, "data": data, "created_at": at}


def _read(rows: list[AuditLog]) -> list[tuple[str, dict[str, Any], datetime]]:
    return [(r.action, r.data, r.created_at) for r in rows]


async def test_inserted_rows_read_back_as_tortoise_writes_them(db: str) -> None:
    at = [_AT, _AT.astimezone(_KOLKATA), _AT.replace(microsecond=0)]
    rows = [_audit(n, t, DATA[n % 3], at[n % 3]) for n, t in enumerate(TEXTS)]
    created = [await AuditLog.create(**row) for row in rows]
    await insert_rows(connections.get("default"), AuditLog, rows)

    stored = await AuditLog.all().order_by("id")
    assert _read(stored[len(rows) :]) == _read(stored[: len(rows)])
    assert _read(stored[len(rows) :]) == [(r["action"], r["data"], r["created_at"]) for r in rows]
    assert len(created) == len(rows)


async def test_a_json_columns_sql_null_and_json_null_stay_apart(db: str) -> None:
    jo = await factories.member()
    base = {"member_id": jo.id, "operation": "t", "request_hash": "h", "status": "IN_PROGRESS"}
    times = {"created_at": _AT, "expires_at": _AT}
    rows = [
        {**base, **times, "key": "sql-null", "response": None},
        {**base, **times, "key": "json-null", "response": "null"},
        {**base, **times, "key": "json-text", "response": '"null"'},
        {**base, **times, "key": "object", "response": {"a": [None]}},
    ]
    await insert_rows(
        connections.get("default"), IdempotencyRecord, rows, unique=("member_id", "key")
    )

    conn = connections.get("default")
    found = await conn.execute_query_dict(
        'SELECT "key", "response" IS NULL AS "missing" FROM "idempotency_record" ORDER BY "id"'
    )
    assert [(r["key"], bool(r["missing"])) for r in found] == [
        ("sql-null", True),
        ("json-null", False),
        ("json-text", False),
        ("object", False),
    ]
    stored = {r.key: r.response for r in await IdempotencyRecord.all()}
    assert stored == {
        "sql-null": None,
        "json-null": None,
        "json-text": "null",
        "object": {"a": [None]},
    }


async def test_updated_rows_read_back_as_tortoise_writes_them(db: str) -> None:
    made = [await AuditLog.create(**_audit(n, "before", {}, _AT)) for n in range(len(TEXTS))]
    again = [await AuditLog.create(**_audit(n, "before", {}, _AT)) for n in range(len(TEXTS))]
    later = _AT.astimezone(_KOLKATA) + timedelta(microseconds=1)
    changes = {
        row.id: {"action": text, "data": DATA[n % 3], "created_at": later}
        for n, (row, text) in enumerate(zip(made, TEXTS, strict=True))
    }
    for row, change in zip(again, changes.values(), strict=True):
        await AuditLog.filter(id=row.id).update(**change)

    changed = await update_rows(connections.get("default"), AuditLog, changes)

    assert changed == set(changes)
    stored = await AuditLog.all().order_by("id")
    assert _read(stored[: len(made)]) == _read(stored[len(made) :])
    assert _read(stored[: len(made)]) == [(c["action"], c["data"], later) for c in changes.values()]


async def test_dates_booleans_and_the_largest_integers_go_through_updates(db: str) -> None:
    jo = await factories.member()
    bill = await factories.bill(await factories.account(jo), due=1_000)
    card = await factories.card(jo)
    conn = connections.get("default")

    await update_rows(conn, Bill, {bill.id: {"due_date": date(2027, 2, 28)}})
    await update_rows(conn, PaymentMethod, {card.id: {"is_default": not card.is_default}})
    charge = await SandboxCharge.create(
        idempotency_key="k",
        token="t",
        amount=1,
        currency="USD",
        outcome="o",
        reference="r",
        created_at=_AT,
    )
    await update_rows(conn, SandboxCharge, {charge.id: {"amount": BIG - 1}})
    added = Along(lambda p: shift_sql(p, SandboxCharge, {charge.id: {"amount": 1}}))
    await run_along(conn, [added])
    assert added.rows == 1

    assert (await Bill.get(id=bill.id)).due_date == date(2027, 2, 28)
    assert (await SandboxCharge.get(id=charge.id)).amount == BIG
    assert (await PaymentMethod.get(id=card.id)).is_default is not card.is_default
