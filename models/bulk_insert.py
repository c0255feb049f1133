"""Multi-row INSERTs for work done in batches: one statement for many rows.

Values go through each field's own `to_db_value` (or a shortcut where that cannot
change the value), as Tortoise's `create` does, so the rows read back exactly as if
they had been created one at a time. Statements that return rows go through
`execute_query_dict`, which fetches on both backends.
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

from models.bulk import Params, Then, pg_type, returning_then

M = TypeVar("M", bound=Model)


@dataclass
class Along:
    """A data-modifying statement that runs with others (`insert_many(along=...)`,
    `run_along`): inside their statement's WITH on PostgreSQL, so that they all cost one
    round trip, or just before it elsewhere. `sql` builds it on that statement's
    `Params`; `rows` is then how many rows it changed. Statements run together see the
    database as it was before any of them: they must not touch the same rows."""

    sql: Callable[[Params], str]
    rows: int | None = None


async def run_along(conn: BaseDBAsyncClient, statements: Sequence[Along]) -> None:
    """Run data-modifying statements together (see Along), setting each one's `rows`."""
    if not statements:
        return
    if conn.capabilities.dialect != "postgres":
        await _one_by_one(conn, statements)
        return
    params = Params(conn)
    prefix, counted = _together(params, statements)
    [row] = await conn.execute_query_dict(
        f"{prefix}SELECT {counted.removeprefix(', ')}", params.values
    )
    _read_counts(row, statements)


def _together(params: Params, statements: Sequence[Along]) -> tuple[str, str]:
    """PostgreSQL: the WITH that holds the statements, and the columns that count the
    rows each changed ("along0_rows", ...), each after a comma."""
    parts = [f'"along{n}" AS ({a.sql(params)} RETURNING 1)' for n, a in enumerate(statements)]
    counted = "".join(
        f', (SELECT count(*) FROM "along{n}") AS "along{n}_rows"' for n in range(len(statements))
    )
    return f"WITH {', '.join(parts)} ", counted


def _read_counts(row: Mapping[str, Any], statements: Sequence[Along]) -> None:
    for n, statement in enumerate(statements):
        statement.rows = int(row[f"along{n}_rows"])


async def _one_by_one(conn: BaseDBAsyncClient, statements: Sequence[Along]) -> None:
    for statement in statements:
        params = Params(conn)
        statement.rows, _ = await conn.execute_query(statement.sql(params), params.values)


@dataclass(frozen=True)
class Lookup:
    """A value the statement itself reads, by a key: `template` is SQL with one `{}`
    where the key goes (a subquery over a WITH of the same statement, say), and
    `key_type` the key's PostgreSQL type. In one column, every Lookup has the same
    template; other rows of that column give their value as usual."""

    template: str
    key: Any
    key_type: str

    def __post_init__(self) -> None:
        if self.key is None:  # NULL marks the rows without a lookup (`_from_rows`)
            raise ValueError("a Lookup needs a key")


async def insert_many(
    conn: BaseDBAsyncClient,
    instances: Sequence[M],
    *,
    unique: Sequence[str] = (),
    skip_conflicts: bool = False,
    along: Sequence[Along] = (),
    then: Then | None = None,
) -> list[M]:
    """Insert unsaved instances in one statement; returns those inserted.

    With `unique`, fields that tell the rows apart, each instance inserted gets its id.
    With `skip_conflicts` as well, rows that would break the unique constraint on those
    fields are left out (ON CONFLICT DO NOTHING). Without `unique`, every row must go in.
    The `along` statements run with it (see Along), and `then` after it (see
    `insert_rows`).
    """
    if not instances:
        return []
    model = type(instances[0])
    names = _insert_fields(model)
    rows = [{name: getattr(instance, name) for name in names} for instance in instances]
    ids = await insert_rows(
        conn, model, rows, unique=unique, skip_conflicts=skip_conflicts, along=along, then=then
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
    along: Sequence[Along] = (),
    then: Then | None = None,
) -> list[int | None]:
    """Insert rows given as field values (what an instance would hold; a field left out
    takes its default) in one statement, without building instances.

    With `unique`, the fields that tell the rows apart, the answer is each row's new id
    (None for a row left out by `skip_conflicts`). Without it, every row must go in and
    the ids are not read back (the answer holds None for each row). The `along`
    statements run with it (see Along); they need `unique` without `skip_conflicts`, so
    that every row answers. `then`, a SELECT, runs after it (see models.bulk.Then): on
    PostgreSQL in the same statement, which then needs `unique` whose values are
    integers or strings (they come back through JSON), and no `along`.
    """
    if not rows:
        return []
    if then is not None and not unique:
        raise ValueError("an INSERT with a SELECT after it needs the fields that tell rows apart")
    meta = model._meta
    params = Params(conn)
    prefix, counted = "", ""
    if along:
        if not unique or skip_conflicts:
            raise ValueError("an INSERT with statements along must return every row")
        if params.postgres:
            prefix, counted = _together(params, along)
        else:
            await _one_by_one(conn, along)
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
    sql += f' RETURNING "id", {quoted}{counted}'
    if then is not None and params.postgres:
        if along:
            raise ValueError("an INSERT with statements along cannot have a SELECT after it")
        returned = await returning_then(conn, sql, params, then)
    else:
        returned = await conn.execute_query_dict(sql, params.values)
        if then is not None:
            await then.read(conn)
    if counted:
        _read_counts(returned[0], along)
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
    """An INSERT of rows given as field values, its values bound through `params` (a
    `Lookup` goes in as the SQL that reads it).

    With `select`, a condition, the rows go in only if it holds (checked before the
    first row, as the subquery it names runs once). On PostgreSQL the rows come from
    one JSON parameter (see models/bulk.py), so the statement's text is the same for
    any number of rows."""
    meta = model._meta
    names, convert = _insert_plan(model)
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
    head = f'INSERT INTO "{meta.db_table}" ({columns}) '
    values = [[row[n] if n in row else _default(model, n) for n in names] for row in rows]
    shapes = _lookup_shapes(names, values)
    if params.postgres:
        where = f" WHERE {select}" if select else ""
        return head + _from_rows(params, model, values, shapes) + where + ' ORDER BY "row"."ord"'
    marks = []
    for row in values:
        sqls = [
            value.template.format(params(value.key))
            if isinstance(value, Lookup)
            else params(to_db(value))
            for value, to_db in zip(row, convert, strict=True)
        ]
        marks.append(f"({', '.join(sqls)})")
    if select:
        return head + f'SELECT * FROM (VALUES {", ".join(marks)}) AS "row" WHERE {select}'
    return head + f"VALUES {', '.join(marks)}"


def _lookup_shapes(names: Sequence[str], values: list[list[Any]]) -> list[Lookup | None]:
    """For each column, one of its Lookups (they all share their SQL) or None if it has
    none; ValueError if a column's Lookups differ in their SQL (on both backends alike,
    though only PostgreSQL's one statement for any rows needs it)."""
    shapes: list[Lookup | None] = []
    for n, name in enumerate(names):
        lookups = [v for row in values if isinstance(v := row[n], Lookup)]
        if len({(v.template, v.key_type) for v in lookups}) > 1:
            raise ValueError(f"the lookups of {name} differ in their SQL")
        shapes.append(lookups[0] if lookups else None)
    return shapes


def _from_rows(
    params: Params, model: type[Model], values: list[list[Any]], shapes: list[Lookup | None]
) -> str:
    """A SELECT of the rows from one JSON parameter ("row"."c0", "c1", ...), and for a
    column with Lookups one more value of their keys ("k0", ...), NULL in the rows that
    give their value instead. The rows come in their order (ORDINALITY), so that their
    new ids follow it."""
    names, convert = _insert_plan(model)
    layout: list[tuple[str, str]] = []
    picks = []
    for n, (name, shape) in enumerate(zip(names, shapes, strict=True)):
        layout.append((f"c{n}", pg_type(model, name)))
        if shape is None:
            picks.append(f'"row"."c{n}"')
            continue
        layout.append((f"k{n}", shape.key_type))
        looked_up = shape.template.format(f'"row"."k{n}"')
        picks.append(f'CASE WHEN "row"."k{n}" IS NULL THEN "row"."c{n}" ELSE {looked_up} END')
    cells = [_cells(row, convert, shapes) for row in values]
    source = params.rows("row", layout, cells, ordinality=True)
    return f"SELECT {', '.join(picks)} FROM {source}"


def _cells(
    row: list[Any], convert: list[Callable[[Any], Any]], shapes: list[Lookup | None]
) -> list[Any]:
    """One row's values in the layout of `_from_rows`."""
    cells: list[Any] = []
    for value, to_db, shape in zip(row, convert, shapes, strict=True):
        if shape is None:
            cells.append(to_db(value))
        elif isinstance(value, Lookup):
            cells += [None, value.key]
        else:
            cells += [to_db(value), None]
    return cells


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
    if kind in (IntField, BigIntField, SmallIntField):  # not IntEnumField, a subclass
        return lambda value: value if type(value) is int else general(value)
    if isinstance(field, DatetimeField) and not (field.auto_now or field.auto_now_add):
        return lambda value: (
            value if type(value) is datetime and value.tzinfo is not None else general(value)
        )
    if isinstance(field, JSONField):
        encode = field.encoder
        return lambda value: encode(value) if type(value) in (dict, list) else general(value)
    return general
