"""Multi-row statements for work done in batches: UPDATEs of many rows in one statement,
and the numbered bind parameters every batch statement is built with (multi-row
INSERTs are in models/bulk_insert.py).

On PostgreSQL a batch's values go in as one array parameter per column (`unnest`,
`= ANY`), so a statement's text does not depend on how many rows it touches: asyncpg
prepares each statement once per connection and keeps it in its cache (100 of them).
With one parameter per value every batch size was a statement of its own, and with
batch sizes that vary widely most of them missed the cache, each miss a round trip
more to prepare it again (bench/bench_ledger_cpu.py's mixed row, bench/RESULTS.md).
SQLite prepares in process and keeps one parameter per value.

Values go through each field's own `to_db_value`, as Tortoise's `update` does.
Statements that return rows go through `execute_query_dict`, which fetches on both
backends.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

M = TypeVar("M", bound=Model)


class Params:
    """Bind values, each rendered as a numbered placeholder, so that the order in which a
    statement's parts are written does not matter ($1 on PostgreSQL, ?1 on SQLite)."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self._mark = "$" if conn.capabilities.dialect == "postgres" else "?"
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        """The placeholder of one more value."""
        self.values.append(value)
        return f"{self._mark}{len(self.values)}"

    @property
    def arrays(self) -> bool:
        """Whether a batch's values go in as arrays, one parameter per column (PostgreSQL)."""
        return self._mark == "$"

    def array(self, values: Sequence[Any], sql_type: str) -> str:
        """The placeholder of one array parameter of `sql_type` elements (PostgreSQL)."""
        return f"{self(list(values))}::{sql_type}[]"

    def unnest(
        self,
        alias: str,
        columns: Mapping[str, tuple[Sequence[Any], str]],
        *,
        ordinality: bool = False,
    ) -> str:
        """Rows zipped from one array parameter per column (PostgreSQL), for a FROM:
        `columns[name]` is that column's values and their SQL type. With `ordinality`,
        each row also has its position, "ord" (from 1)."""
        arrays = ", ".join(self.array(values, sql_type) for values, sql_type in columns.values())
        names = ", ".join(f'"{name}"' for name in [*columns, *(["ord"] if ordinality else [])])
        numbered = " WITH ORDINALITY" if ordinality else ""
        return f'unnest({arrays}){numbered} AS "{alias}"({names})'

    def is_in(self, column: str, values: Sequence[int] | Sequence[str]) -> str:
        """The condition that the named column holds one of `values` (ints or strings, at
        least one): `= ANY` of one array parameter on PostgreSQL, `IN (...)` elsewhere."""
        if not values:
            raise ValueError("is_in needs at least one value")
        element = _element_type(values)  # checked on both backends alike
        if self.arrays:
            return f'"{column}" = ANY({self.array(values, element)})'
        return f'"{column}" IN ({", ".join(self(value) for value in values)})'


def _element_type(values: Sequence[Any]) -> str:
    """The array type of `is_in` values: ints (an IntEnum too, not bools) or strings."""
    if all(isinstance(value, int) and not isinstance(value, bool) for value in values):
        return "BIGINT"
    if all(isinstance(value, str) for value in values):
        return "TEXT"
    raise TypeError("is_in takes ints or strings, not a mix")


@dataclass
class Then:
    """A SELECT to run right after an UPDATE of `update_rows`: on PostgreSQL in the same
    statement (one round trip less), where it starts only once the UPDATE has taken its
    row locks; elsewhere as a statement of its own. `sql(params, gate)` writes it, with
    the SQL condition `gate` among its WHERE conditions and no CTE of its own, and reads
    an "id" column no row leaves NULL. `read` gives its rows, running it alone if no
    UPDATE did."""

    sql: Callable[[Params, str], str]
    rows: list[dict[str, Any]] | None = None

    async def read(self, conn: BaseDBAsyncClient) -> list[dict[str, Any]]:
        """Its rows, read now unless an UPDATE read them already."""
        if self.rows is None:
            params = Params(conn)
            sql = self.sql(params, "TRUE")
            self.rows = list(await conn.execute_query_dict(sql, params.values))
        return self.rows


async def update_rows(
    conn: BaseDBAsyncClient,
    model: type[Model],
    rows: Mapping[int, Mapping[str, Any]],
    *,
    same: Mapping[str, Any] | None = None,
    where: Mapping[str, Any] | None = None,
    then: Then | None = None,
) -> set[int]:
    """One UPDATE for many rows; the ids of the rows it changed.

    `rows[id]` holds that row's own values (every row names the same columns), `same`
    values written to every row, and `where` the columns a row must still hold to be
    changed: the guard and the write are one statement. `then` runs after it.
    """
    if not rows:
        return set()
    meta = model._meta
    params = Params(conn)
    postgres = params.arrays

    def value(name: str, raw: Any) -> str:
        mark = params(meta.fields_map[name].to_db_value(raw, model))
        # PostgreSQL: a parameter outside its column's own place (a CASE arm) needs a type.
        return f"{mark}::{pg_type(model, name)}" if postgres else mark

    def equals(name: str, raw: Any) -> str:
        return f'"{meta.fields_db_projection[name]}" = {value(name, raw)}'

    sets = [equals(name, raw) for name, raw in (same or {}).items()]
    names = list(next(iter(rows.values())))
    table = f'"{meta.db_table}"'
    if postgres:
        # One array per column, zipped into rows: "u"."row_id" and "u"."v0", "v1", ...
        # (names no table has, so the table's own columns need no qualifying). The rows
        # are locked in the arrays' order: by id, as an index scan of `IN (...)` would.
        rows = dict(sorted(rows.items()))
        arrays: dict[str, tuple[Sequence[Any], str]] = {"row_id": (list(rows), "BIGINT")}
        for n, name in enumerate(names):
            field = meta.fields_map[name]
            values = [field.to_db_value(row[name], model) for row in rows.values()]
            arrays[f"v{n}"] = (values, pg_type(model, name))
            sets.append(f'"{meta.fields_db_projection[name]}" = "u"."v{n}"')
        table += f" SET {', '.join(sets)} FROM {params.unnest('u', arrays)}"
        conditions = ['"id" = "u"."row_id"']
    else:
        for name in names:
            arms = " ".join(
                f"WHEN {params(i)} THEN {value(name, r[name])}" for i, r in rows.items()
            )
            sets.append(f'"{meta.fields_db_projection[name]}" = CASE "id" {arms} END')
        table += f" SET {', '.join(sets)}"
        conditions = [params.is_in("id", list(rows))]
    conditions += [equals(name, raw) for name, raw in (where or {}).items()]
    sql = f"UPDATE {table} WHERE {' AND '.join(conditions)}"
    sql += ' RETURNING "id"'
    if then is not None and postgres:
        return await _update_then(conn, sql, params, then)
    changed = await conn.execute_query_dict(sql, params.values)
    if then is not None:
        await then.read(conn)
    return {row["id"] for row in changed}


async def _update_then(
    conn: BaseDBAsyncClient, update: str, params: Params, then: Then
) -> set[int]:
    """The UPDATE and the SELECT after it in one PostgreSQL statement. The SELECT's WHERE
    waits on the UPDATE's whole result (an InitPlan), so its locks come after the
    UPDATE's; the ids changed ride along on every row it reads (or on one empty row)."""
    gated = then.sql(params, '(SELECT count(*) FROM "changed") >= 0')
    sql = (
        f'WITH "changed" AS ({update}), "after" AS ({gated}) '
        'SELECT "after".*, "ids"."changed_ids" FROM '
        '(SELECT array_agg("id") AS "changed_ids" FROM "changed") AS "ids" '
        'LEFT JOIN "after" ON TRUE'
    )
    rows = await conn.execute_query_dict(sql, params.values)
    changed = set(rows[0]["changed_ids"] or ())
    # The LEFT JOIN gives one row of NULLs when the SELECT found none.
    then.rows = [
        {k: v for k, v in row.items() if k != "changed_ids"}
        for row in rows
        if row["id"] is not None
    ]
    return changed


@functools.cache
def pg_type(model: type[Model], name: str) -> str:
    """The column's PostgreSQL type without its length: VARCHAR(64) -> VARCHAR. Cached:
    the ledger's statements ask once per value."""
    sql_type = str(model._meta.fields_map[name].get_for_dialect("postgres", "SQL_TYPE"))
    return sql_type.split("(")[0]


async def shift(
    conn: BaseDBAsyncClient,
    model: type[Model],
    deltas: Mapping[int, Mapping[str, int]],
    *,
    where: str = "",
) -> int:
    """Add per-row amounts to integer columns in one guarded statement; rows changed.
    Callers check the count against len(deltas). See `shift_sql`."""
    if not deltas:
        return 0
    params = Params(conn)
    count, _ = await conn.execute_query(
        shift_sql(params, model, deltas, where=where), params.values
    )
    return count


def shift_sql(
    params: Params,
    model: type[Model],
    deltas: Mapping[int, Mapping[str, int]],
    *,
    where: str = "",
) -> str:
    """The UPDATE that adds per-row amounts to integer columns, guarded.

    `deltas[id][column]` is added to that row's column. The guard: no column a row
    takes from goes below zero (`due = due - x WHERE due >= x`), and `where`, if given.
    Every row names the same columns.
    """
    meta = model._meta
    names = list(next(iter(deltas.values())))
    columns = {name: f'"{meta.fields_db_projection[name]}"' for name in names}
    if params.arrays:
        # One array per column, zipped into rows: "u"."row_id" and "u"."d0", "d1", ...
        # locked in the arrays' order, by id (see update_rows).
        deltas = dict(sorted(deltas.items()))
        arrays: dict[str, tuple[Sequence[Any], str]] = {"row_id": (list(deltas), "BIGINT")}
        for n, name in enumerate(names):
            arrays[f"d{n}"] = ([row[name] for row in deltas.values()], "BIGINT")
        by_row = {name: f'"u"."d{n}"' for n, name in enumerate(names)}
        source = f" FROM {params.unnest('u', arrays)}"
        matched = '"id" = "u"."row_id"'
    else:

        def arms(name: str) -> str:
            whens = " ".join(
                f"WHEN {params(row_id)} THEN CAST({params(row[name])} AS BIGINT)"
                for row_id, row in deltas.items()
            )
            return f'CASE "id" {whens} END'

        by_row = {name: arms(name) for name in names}
        source = ""
        matched = params.is_in("id", list(deltas))
    sets = ", ".join(f"{columns[name]} = {columns[name]} + {by_row[name]}" for name in names)
    takes = [n for n in names if any(row[n] < 0 for row in deltas.values())]
    guards = [f"{columns[name]} + {by_row[name]} >= 0" for name in takes]
    conditions = " AND ".join([matched, *guards, *([where] if where else [])])
    return f'UPDATE "{meta.db_table}" SET {sets}{source} WHERE {conditions}'
