"""Multi-row statements for work done in batches: UPDATEs of many rows in one statement,
and the numbered bind parameters every batch statement is built with (multi-row
INSERTs are in models/bulk_insert.py).

On PostgreSQL a batch's rows go in as one JSON parameter (`Params.rows`), and a list of
ids as one array (`= ANY`), so a statement's text does not depend on how many rows it
touches: asyncpg prepares each statement once per connection and keeps it in its cache
(100 of them). With one parameter per value every batch size was a statement of its
own, and with batch sizes that vary widely most of them missed the cache, each miss a
round trip more to prepare it again (bench/bench_ledger_cpu.py's mixed row,
bench/RESULTS.md). The rows were one array parameter per column until the thirteenth
session: asyncpg encodes an array element by element, checking each for a nested
array, at about 1 us each (0.5 ms for 60 rows of 8 columns), where orjson writes the
whole batch in a tenth of that and PostgreSQL reads it back for about the same CPU as
the arrays. SQLite prepares in process and keeps one parameter per value.

Values go through each field's own `to_db_value`, as Tortoise's `update` does.
Statements that return rows go through `execute_query_dict`, which fetches on both
backends.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
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
    def postgres(self) -> bool:
        """Whether the statement is for PostgreSQL, where a batch's rows go in as one JSON
        parameter (`rows`) and a list of ids as one array (`is_in`)."""
        return self._mark == "$"

    def array(self, values: Sequence[Any], sql_type: str) -> str:
        """The placeholder of one array parameter of `sql_type` elements (PostgreSQL)."""
        return f"{self(list(values))}::{sql_type}[]"

    def rows(
        self,
        alias: str,
        columns: Sequence[tuple[str, str]],
        rows: Sequence[Sequence[Any]],
        *,
        ordinality: bool = False,
    ) -> str:
        """Rows for a FROM, bound as one JSON parameter (PostgreSQL): `columns` names each
        value of a row and gives its SQL type, and each row holds its values in that
        order, as its columns' `to_db_value` gives them (a JSON column's as JSON text).
        With `ordinality`, each row also has its position, "ord" (from 1), and the rows
        come in their order."""
        at_json = [n for n, (_, sql_type) in enumerate(columns) if sql_type in _JSON_TYPES]
        if at_json:
            rows = [_embedded(row, at_json) for row in rows]
        mark = self(orjson.dumps(rows, option=orjson.OPT_NAIVE_UTC).decode())
        picks = [f'{_pick(n, sql_type)} AS "{name}"' for n, (name, sql_type) in enumerate(columns)]
        elements = f'jsonb_array_elements({mark}::JSONB) AS "e"("v")'
        if ordinality:
            picks.append('"e"."ord"')
            elements = f'jsonb_array_elements({mark}::JSONB) WITH ORDINALITY AS "e"("v", "ord")'
        return f'(SELECT {", ".join(picks)} FROM {elements}) AS "{alias}"'

    def is_in(self, column: str, values: Sequence[int] | Sequence[str]) -> str:
        """The condition that the named column holds one of `values` (ints or strings, at
        least one): `= ANY` of one array parameter on PostgreSQL, `IN (...)` elsewhere."""
        if not values:
            raise ValueError("is_in needs at least one value")
        element = _element_type(values)  # checked on both backends alike
        if self.postgres:
            return f'"{column}" = ANY({self.array(values, element)})'
        return f'"{column}" IN ({", ".join(self(value) for value in values)})'


_JSON_TYPES = ("JSON", "JSONB")


def _pick(n: int, sql_type: str) -> str:
    """The SQL that reads value `n` of a JSON row "e"."v" as `sql_type`. A JSON column's
    value comes wrapped in an object, {"j": value} (`_embedded`), so that SQL NULL (JSON
    null, where the key reads NULL) and the JSON value null stay apart. (Not in an
    array: PostgreSQL reads element 0 of a lone scalar as that scalar.)"""
    if sql_type in _JSON_TYPES:
        return f'("e"."v" -> {n} -> \'j\')::{sql_type}'
    return f'("e"."v" ->> {n})::{sql_type}'


def _embedded(row: Sequence[Any], at_json: Sequence[int]) -> list[Any]:
    """A row whose JSON columns' values (JSON text, or None) go into the document as
    they are, each wrapped as {"j": value}."""
    cells = list(row)
    for n in at_json:
        if (text := cells[n]) is not None:
            cells[n] = orjson.Fragment(f'{{"j":{text}}}')
    return cells


def _element_type(values: Sequence[Any]) -> str:
    """The array type of `is_in` values: ints (an IntEnum too, not bools) or strings."""
    if all(isinstance(value, int) and not isinstance(value, bool) for value in values):
        return "BIGINT"
    if all(isinstance(value, str) for value in values):
        return "TEXT"
    raise TypeError("is_in takes ints or strings, not a mix")


@dataclass
class Then:
    """A SELECT to run right after an UPDATE of `update_rows` or an INSERT of
    `insert_rows`: on PostgreSQL in the same statement (`returning_then`, one round trip
    less), where it starts only once that statement has taken its row locks; elsewhere
    as a statement of its own. `sql(params, gate)` writes it, with the SQL condition
    `gate` among its WHERE conditions and no CTE of its own, and reads an "id" column no
    row leaves NULL. `read` gives its rows, running it alone if no statement did."""

    sql: Callable[[Params, str], str]
    rows: list[dict[str, Any]] | None = None

    async def read(self, conn: BaseDBAsyncClient) -> list[dict[str, Any]]:
        """Its rows, read now unless an UPDATE or INSERT read them already."""
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
    """One UPDATE for many rows (`update_sql`); the ids of the rows it changed. `then`
    runs after it (`returning_then`)."""
    if not rows:
        return set()
    params = Params(conn)
    sql = update_sql(params, model, rows, same=same, where=where) + ' RETURNING "id"'
    if then is not None and params.postgres:
        changed = await returning_then(conn, sql, params, then)
    else:
        changed = await conn.execute_query_dict(sql, params.values)
        if then is not None:
            await then.read(conn)
    return {row["id"] for row in changed}


def update_sql(
    params: Params,
    model: type[Model],
    rows: Mapping[int, Mapping[str, Any]],
    *,
    same: Mapping[str, Any] | None = None,
    where: Mapping[str, Any] | None = None,
) -> str:
    """The UPDATE of many rows (at least one), its values bound through `params`.

    `rows[id]` holds that row's own values (every row names the same columns), `same`
    values written to every row, and `where` the columns a row must still hold to be
    changed: the guard and the write are one statement.
    """
    meta = model._meta
    postgres = params.postgres

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
        # The rows as "u"."row_id" and "u"."v0", "v1", ... (names no table has, so the
        # table's own columns need no qualifying). They are locked in the order given:
        # by id, as an index scan of `IN (...)` would.
        fields = [(name, meta.fields_map[name]) for name in names]
        layout = [("row_id", "BIGINT")]
        layout += [(f"v{n}", pg_type(model, name)) for n, name in enumerate(names)]
        values = [
            [row_id, *(field.to_db_value(row[name], model) for name, field in fields)]
            for row_id, row in sorted(rows.items())
        ]
        for n, name in enumerate(names):
            sets.append(f'"{meta.fields_db_projection[name]}" = "u"."v{n}"')
        table += f" SET {', '.join(sets)} FROM {params.rows('u', layout, values)}"
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
    return f"UPDATE {table} WHERE {' AND '.join(conditions)}"


async def returning_then(
    conn: BaseDBAsyncClient, statement: str, params: Params, then: Then
) -> list[dict[str, Any]]:
    """A data-modifying statement with RETURNING and the SELECT after it in one PostgreSQL
    statement; the rows the statement returned. The SELECT's WHERE waits on the
    statement's whole result (an InitPlan), so its locks come after the statement's; the
    returned rows ride along, as JSON, on every row it reads (or on one empty row)."""
    gated = then.sql(params, '(SELECT count(*) FROM "changed") >= 0')
    sql = (
        f'WITH "changed" AS ({statement}), "after" AS ({gated}) '
        'SELECT "after".*, "done"."changed_rows" FROM '
        '(SELECT json_agg("changed") AS "changed_rows" FROM "changed") AS "done" '
        'LEFT JOIN "after" ON TRUE'
    )
    rows = await conn.execute_query_dict(sql, params.values)
    changed = rows[0]["changed_rows"]
    # The LEFT JOIN gives one row of NULLs when the SELECT found none.
    then.rows = [
        {k: v for k, v in row.items() if k != "changed_rows"}
        for row in rows
        if row["id"] is not None
    ]
    return [] if changed is None else list(orjson.loads(changed))


@functools.cache
def pg_type(model: type[Model], name: str) -> str:
    """The column's PostgreSQL type without its length: VARCHAR(64) -> VARCHAR. Cached:
    the ledger's statements ask once per value."""
    sql_type = str(model._meta.fields_map[name].get_for_dialect("postgres", "SQL_TYPE"))
    return sql_type.split("(")[0]


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
    if params.postgres:
        # The rows as "u"."row_id" and "u"."d0", "d1", ..., locked in the order given, by
        # id (see update_rows).
        layout = [("row_id", "BIGINT")] + [(f"d{n}", "BIGINT") for n in range(len(names))]
        ordered = sorted(deltas.items())
        values = [[row_id, *(row[name] for name in names)] for row_id, row in ordered]
        by_row = {name: f'"u"."d{n}"' for n, name in enumerate(names)}
        source = f" FROM {params.rows('u', layout, values)}"
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
