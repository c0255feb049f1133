"""Multi-row statements for work done in batches: one INSERT or UPDATE for many rows.

Values go through each field's own `to_db_value`, as Tortoise's `create` does, so the
rows read back exactly as if they had been created one at a time. Statements that
return rows go through `execute_query_dict`, which fetches on both backends.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields import (
    BigIntField,
    CharField,
    DatetimeField,
    Field,
    IntField,
    JSONField,
    SmallIntField,
)
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

    def many(self, values: Sequence[Any]) -> str:
        """Comma-separated placeholders, for `IN (...)`."""
        return ", ".join(self(value) for value in values)


@dataclass
class Along:
    """A statement that runs with an INSERT (`insert_many(along=...)`): inside its WITH on
    PostgreSQL, so that the two cost one round trip, or just before it elsewhere. `sql`
    builds it on the INSERT's `Params`; `rows` is then how many rows it changed."""

    sql: Callable[[Params], str]
    rows: int | None = None


def for_update(conn: BaseDBAsyncClient) -> str:
    """The row lock for changing a row's non-key columns, where rows can be locked.

    NO KEY UPDATE, not UPDATE: the key-share locks that inserts referencing the row take
    for their foreign keys do not conflict with it. SQLite's one writer needs none.
    """
    return " FOR NO KEY UPDATE" if conn.capabilities.dialect == "postgres" else ""


async def insert_many(
    conn: BaseDBAsyncClient,
    instances: Sequence[M],
    *,
    unique: Sequence[str] = (),
    skip_conflicts: bool = False,
    along: Along | None = None,
) -> list[M]:
    """Insert unsaved instances in one statement; returns those inserted.

    With `unique`, fields that tell the rows apart, each instance inserted gets its id.
    With `skip_conflicts` as well, rows that would break the unique constraint on those
    fields are left out (ON CONFLICT DO NOTHING). Without `unique`, every row must go in.
    `along` runs with it (see Along).
    """
    if not instances:
        return []
    model = type(instances[0])
    names = _insert_fields(model)
    rows = [{name: getattr(instance, name) for name in names} for instance in instances]
    ids = await insert_rows(
        conn, model, rows, unique=unique, skip_conflicts=skip_conflicts, along=along
    )
    inserted = []
    for instance, row_id in zip(instances, ids, strict=True):
        if row_id is not None:
            instance.pk = row_id
            instance._saved_in_db = True
            inserted.append(instance)
    return inserted if unique else list(instances)


async def insert_rows(
    conn: BaseDBAsyncClient,
    model: type[Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    unique: Sequence[str] = (),
    skip_conflicts: bool = False,
    along: Along | None = None,
) -> list[int | None]:
    """Insert rows given as field values (what an instance would hold; a field left out
    takes its default) in one statement, without building instances.

    With `unique`, the fields that tell the rows apart, the answer is each row's new id
    (None for a row left out by `skip_conflicts`). Without it, every row must go in and
    the ids are not read back (the answer holds None for each row). `along` runs with it
    (see Along); it needs `unique` without `skip_conflicts`, so that every row answers.
    """
    if not rows:
        return []
    meta = model._meta
    params = Params(conn)
    prefix, counted = "", ""
    if along is not None:
        if not unique or skip_conflicts:
            raise ValueError("an INSERT with a statement along must return every row")
        if conn.capabilities.dialect == "postgres":
            prefix = f'WITH "along" AS ({along.sql(params)} RETURNING 1) '
            counted = ', (SELECT count(*) FROM "along") AS "along_rows"'
        else:
            first = Params(conn)
            along.rows, _ = await conn.execute_query(along.sql(first), first.values)
    sql = prefix + insert_sql(params, model, rows)
    if not unique:
        # Counted from RETURNING: asyncpg's status line for an INSERT is "INSERT 0 <rows>".
        count = len(await conn.execute_query_dict(sql + ' RETURNING "id"', params.values))
        if count != len(rows):
            raise RuntimeError(f"{count} of {len(rows)} {meta.db_table} rows went in")
        return [None] * len(rows)
    keys = [meta.fields_db_projection[name] for name in unique]
    quoted = ", ".join(f'"{key}"' for key in keys)
    if skip_conflicts:
        sql += f" ON CONFLICT ({quoted}) DO NOTHING"
    returned = await conn.execute_query_dict(
        f'{sql} RETURNING "id", {quoted}{counted}', params.values
    )
    if along is not None and counted:
        along.rows = int(returned[0]["along_rows"])
    ids = {tuple(row[key] for key in keys): row["id"] for row in returned}
    names, convert = _insert_plan(model)
    tell = [convert[names.index(name)] for name in unique]
    by_row = [
        ids.pop(tuple(to_db(row[name]) for name, to_db in zip(unique, tell, strict=True)), None)
        for row in rows
    ]
    if ids or sum(row_id is not None for row_id in by_row) != len(returned):
        raise RuntimeError(f"{unique} does not tell the new {meta.db_table} rows apart")
    return by_row


def insert_sql(
    params: Params, model: type[Model], rows: Sequence[Mapping[str, Any]], *, select: str = ""
) -> str:
    """An INSERT of rows given as field values, its values bound through `params`.

    With `select`, a condition, the rows come from a SELECT over their VALUES and go in
    only if it holds (checked before the first row, as the subquery it names runs once);
    each value then carries its column's type, which a SELECT cannot take from the table
    (PostgreSQL only)."""
    meta = model._meta
    names, convert = _insert_plan(model)
    types = [f"::{_pg_type(model, name)}" if select else "" for name in names]
    marks = []
    for row in rows:
        values = (
            params(to_db(row[name] if name in row else _default(model, name))) + cast
            for name, to_db, cast in zip(names, convert, types, strict=True)
        )
        marks.append(f"({', '.join(values)})")
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
    head = f'INSERT INTO "{meta.db_table}" ({columns}) '
    if select:
        return head + f'SELECT * FROM (VALUES {", ".join(marks)}) AS "row" WHERE {select}'
    return head + f"VALUES {', '.join(marks)}"


def _insert_fields(model: type[Model]) -> list[str]:
    """The fields an INSERT writes: every column but the generated id."""
    meta = model._meta
    return [name for name in meta.fields_db_projection if not meta.fields_map[name].generated]


@functools.cache
def _insert_plan(model: type[Model]) -> tuple[list[str], list[Callable[[Any], Any]]]:
    """The fields an INSERT writes, and the conversion of each to its column's value."""
    names = _insert_fields(model)
    return names, [_to_db(model._meta.fields_map[name], model) for name in names]


def _default(model: type[Model], name: str) -> Any:
    default = model._meta.fields_map[name].default
    return default() if callable(default) else default


def _to_db(field: Field[Any], model: type[Model]) -> Callable[[Any], Any]:
    """The field's `to_db_value`, with the common cases done without its checks where
    they cannot change the answer: an int for an integer column, a str within the length
    of a string column, an aware datetime, a dict or list as JSON. Fields with validators
    of their own always take the general path."""
    slow = field.to_db_value

    def general(value: Any) -> Any:
        return slow(value, model)

    kind = type(field)
    if isinstance(field, CharField) and kind is CharField and len(field.validators) == 1:
        most = field.max_length
        return lambda value: value if type(value) is str and len(value) <= most else general(value)
    if field.validators:
        return general
    if isinstance(field, IntField | BigIntField | SmallIntField):
        return lambda value: value if type(value) is int else general(value)
    if isinstance(field, DatetimeField) and not (field.auto_now or field.auto_now_add):
        return lambda value: (
            value if type(value) is datetime and value.tzinfo is not None else general(value)
        )
    if isinstance(field, JSONField):
        encode = field.encoder
        return lambda value: encode(value) if type(value) in (dict, list) else general(value)
    return general


async def update_rows(
    conn: BaseDBAsyncClient,
    model: type[Model],
    rows: Mapping[int, Mapping[str, Any]],
    *,
    same: Mapping[str, Any] | None = None,
    where: Mapping[str, Any] | None = None,
) -> set[int]:
    """One UPDATE for many rows; the ids of the rows it changed.

    `rows[id]` holds that row's own values (every row names the same columns), `same`
    values written to every row, and `where` the columns a row must still hold to be
    changed: the guard and the write are one statement.
    """
    if not rows:
        return set()
    meta = model._meta
    params = Params(conn)
    typed = conn.capabilities.dialect == "postgres"  # a CASE arm's parameter needs a type

    def value(name: str, raw: Any) -> str:
        mark = params(meta.fields_map[name].to_db_value(raw, model))
        return f"{mark}::{_pg_type(model, name)}" if typed else mark

    def equals(name: str, raw: Any) -> str:
        return f'"{meta.fields_db_projection[name]}" = {value(name, raw)}'

    sets = [equals(name, raw) for name, raw in (same or {}).items()]
    for name in next(iter(rows.values())):
        arms = " ".join(f"WHEN {params(i)} THEN {value(name, r[name])}" for i, r in rows.items())
        sets.append(f'"{meta.fields_db_projection[name]}" = CASE "id" {arms} END')
    conditions = [f'"id" IN ({params.many(list(rows))})']
    conditions += [equals(name, raw) for name, raw in (where or {}).items()]
    sql = f'UPDATE "{meta.db_table}" SET {", ".join(sets)} WHERE {" AND ".join(conditions)}'
    changed = await conn.execute_query_dict(sql + ' RETURNING "id"', params.values)
    return {row["id"] for row in changed}


def _pg_type(model: type[Model], name: str) -> str:
    """The column's PostgreSQL type without its length: VARCHAR(64) -> VARCHAR."""
    sql_type = str(model._meta.fields_map[name].get_for_dialect("postgres", "SQL_TYPE"))
    return sql_type.split("(")[0]


async def lock_rows(conn: BaseDBAsyncClient, model: type[Model], ids: Sequence[int]) -> None:
    """Lock rows in id order before a multi-row UPDATE, whose own order is its plan's, so
    that two transactions changing some of the same rows never wait on each other in a
    circle (PostgreSQL; SQLite has one writer at a time)."""
    if ids and conn.capabilities.dialect == "postgres":
        p = Params(conn)
        table = model._meta.db_table
        sql = f'SELECT "id" FROM "{table}" WHERE "id" IN ({p.many(sorted(ids))}) ORDER BY "id"'
        await conn.execute_query_dict(sql + for_update(conn), p.values)


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

    def by_row(name: str) -> str:
        arms = " ".join(
            f"WHEN {params(row_id)} THEN CAST({params(row[name])} AS BIGINT)"
            for row_id, row in deltas.items()
        )
        return f'CASE "id" {arms} END'

    columns = {name: f'"{meta.fields_db_projection[name]}"' for name in names}
    sets = ", ".join(f"{columns[name]} = {columns[name]} + {by_row(name)}" for name in names)
    takes = [n for n in names if any(row[n] < 0 for row in deltas.values())]
    ids = params.many(list(deltas))
    guards = [f"{columns[name]} + {by_row(name)} >= 0" for name in takes]
    conditions = " AND ".join([f'"id" IN ({ids})', *guards, *([where] if where else [])])
    return f'UPDATE "{meta.db_table}" SET {sets} WHERE {conditions}'
