"""Look-ahead for bill connections: load what the query will ask of a page's bills first.

A page of bills whose line items and payments are selected would otherwise load them
from each bill's own field: one coroutine per bill and field, batched by the
DataLoader and gathered by graphql-core. Loading them for the whole page before the
page is returned (the same two batched queries) lets those fields answer at once from
the DataLoader's cache (`graph.loaders.now_or_later`). With DataLoaders off nothing is
loaded ahead, nor for fields that `@skip` or `@include` leave out.
"""

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, Selection

import models
from graph.context import Info


def _included(selection: Selection) -> bool:
    """Whether `@skip` / `@include` (their arguments already resolved) leave it in."""
    directives = selection.directives
    return not directives.get("skip", {}).get("if") and directives.get("include", {}).get(
        "if", True
    )


def _fields(selections: Iterable[Selection]) -> list[Any]:
    """The fields of a selection set that will run, with fragments flattened."""
    found: list[Any] = []
    for selection in selections:
        if not _included(selection):
            continue
        if isinstance(selection, FragmentSpread | InlineFragment):
            found += _fields(selection.selections)
        else:
            found.append(selection)
    return found


def selected_below(info: Info, *path: str) -> set[str]:
    """The names of the fields selected at `path` under the field being resolved."""
    level = _fields(s for field in info.selected_fields for s in field.selections)
    for name in path:
        level = _fields(s for field in level if field.name == name for s in field.selections)
    return {field.name for field in level}


async def load_bill_details(info: Info, bills: list[models.Bill]) -> None:
    """Load the line items and payments of a page's bills, if the query selects them."""
    loaders = info.context.loaders
    if not loaders.enabled or not bills:
        return
    wanted = selected_below(info, "edges", "node")
    ids = [bill.id for bill in bills]
    loads: list[Awaitable[Any]] = []
    if "lineItems" in wanted:
        loads.append(loaders.line_items.load_many(ids))
    if "payments" in wanted:
        loads.append(loaders.payments_of_bill.load_many(ids))
    if loads:
        # A load that fails is left to the fields that need it: each then reports it at
        # its own path, as it would have without the look-ahead.
        await asyncio.gather(*loads, return_exceptions=True)
