"""Cursor pagination, newest first, by (sort key, id): in SQL and over loaded rows."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.keys import is_row_id
from resolvers.errors import InvalidInput

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Ours are under 100 characters; a longer one is refused before it is decoded.
MAX_CURSOR_LENGTH = 200

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Page(Generic[M]):
    """One page of a connection: rows, their cursors, and where the page sits."""

    items: list[M]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool
    total_count: int


@dataclass(frozen=True)
class Ordering:
    """Newest first by `field`, ties broken by id; `parse` turns a cursor value back."""

    field: str
    parse: Callable[[str], Any]

    def key(self, row: Model) -> tuple[Any, int]:
        """The sort key of a row."""
        return getattr(row, self.field), int(row.pk)

    def cursor(self, row: Model) -> str:
        """The opaque cursor that points at a row."""
        value, pk = self.key(row)
        raw = json.dumps([value.isoformat() if hasattr(value, "isoformat") else value, pk])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> tuple[Any, int]:
        """The sort key a cursor points at; InvalidInput if it is not one of ours."""
        try:
            if len(cursor) > MAX_CURSOR_LENGTH:
                raise ValueError("too long")
            padded = cursor + "=" * (-len(cursor) % 4)
            value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
            key = self.parse(value), _row_id(pk)
            if self.field == "id" and key[0] != key[1]:
                raise ValueError("an id cursor holds its id twice")
            return key
        except (binascii.Error, ValueError, TypeError, OverflowError):
            raise InvalidInput("`after` is not a valid cursor") from None

    def after_q(self, cursor: str) -> Q:
        """Rows that come after the cursor, newest first."""
        value, pk = self.decode(cursor)
        return Q(**{f"{self.field}__lt": value}) | Q(**{self.field: value, "id__lt": pk})


def _row_id(value: Any) -> int:
    """A row id read from a cursor: a JSON integer some row could have; ValueError otherwise."""
    if not is_row_id(value):
        raise ValueError("not a row id")
    return int(value)


def _calendar_date(value: Any) -> date:
    """A date read from a cursor, as `date.isoformat` writes it; ValueError otherwise."""
    if type(value) is not str:
        raise ValueError("not a date")
    return date.fromisoformat(value)


def _moment(value: Any) -> datetime:
    """A time read from a cursor, with its zone, as UTC; ValueError or OverflowError otherwise."""
    if type(value) is not str:
        raise ValueError("not a time")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("not a time with a zone")
    return parsed.astimezone(UTC)


BY_STATEMENT_DATE = Ordering("statement_date", _calendar_date)
BY_CREATED_AT = Ordering("created_at", _moment)
BY_ID = Ordering("id", _row_id)


def page_size(first: int | None) -> int:
    """The page size asked for, checked against the limits."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise InvalidInput(f"`first` must be between 0 and {MAX_PAGE_SIZE}")
    return first


async def paginate(
    query: QuerySet[M], ordering: Ordering, *, first: int | None, after: str | None
) -> Page[M]:
    """One page of `query` in SQL: keyset after the cursor, one row more to see what follows."""
    size = page_size(first)
    total = await query.count()
    window = query.filter(ordering.after_q(after)) if after else query
    rows = await window.order_by(f"-{ordering.field}", "-id").limit(size + 1)
    return Page(
        items=rows[:size],
        cursors=[ordering.cursor(r) for r in rows[:size]],
        has_next_page=len(rows) > size,
        has_previous_page=after is not None,
        total_count=total,
    )


def page_of(
    rows: Sequence[M], ordering: Ordering, *, first: int | None, after: str | None
) -> Page[M]:
    """The same page as `paginate`, cut from rows already loaded (for DataLoaders)."""
    size = page_size(first)
    ordered = sorted(rows, key=ordering.key, reverse=True)
    if after:
        start = ordering.decode(after)
        ordered = [r for r in ordered if ordering.key(r) < start]
    return Page(
        items=ordered[:size],
        cursors=[ordering.cursor(r) for r in ordered[:size]],
        has_next_page=len(ordered) > size,
        has_previous_page=after is not None,
        total_count=len(rows),
    )
