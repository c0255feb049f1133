"""Scoping queries to what a viewer may see; anything else answers as not found."""

from __future__ import annotations

from typing import TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from resolvers.access import Viewer

M = TypeVar("M", bound=Model)


def visible(query: QuerySet[M], viewer: Viewer, account_field: str = "account_id") -> QuerySet[M]:
    """Restrict a query to rows of accounts the viewer may see."""
    ids = viewer.account_ids
    if ids is None:
        return query
    return query.filter(**{f"{account_field}__in": ids})


def visible_account_ids(viewer: Viewer, requested: list[int] | None) -> list[int] | None:
    """The requested account ids the viewer may see (None = every visible account)."""
    if requested is None:
        return viewer.account_ids
    return [a for a in requested if viewer.can_see(a)]
