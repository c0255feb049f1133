"""The query cost limit: nested pages that would resolve millions of fields are refused
before they run; what the dashboards ask for is not."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from strawberry.types import ExecutionResult

from graph.context import Context
from graph.schema import build_schema
from models.enums import Role
from resolvers.access import load_viewer
from tests import factories
from tests.event_helpers import running_hub
from tests.graph.client import SETTINGS, execute

PAGE = "edges { node { id statementNumber status } }"
# 30 aliased pages of 100 bills inside 100 bills inside 100 bills: within the depth, alias
# and token limits (449 tokens), and about 30 million fields.
NESTED = (
    "query { bills(first: 100) { edges { node { account { bills(first: 100) { edges { node {"
    " account { "
    + " ".join(f"c{i}: bills(first: 100) {{ {PAGE} }}" for i in range(30))
    + " } } } } } } } } }"
)
WIDE = """
query($first: Int) {
  bills(first: 100) { totalCount edges { node {
    id lineItems { description }
    account { payments(first: $first) { edges { node { id status } } } }
  } } }
}
"""


async def _refused(document: str, variables: dict[str, Any] | None = None) -> str:
    await factories.member("alex@example.org")
    result = await execute(document, as_email="alex@example.org", variables=variables)
    assert result.data is None
    [error] = result.errors or []
    assert (error.extensions or {}).get("code") == "GRAPHQL_VALIDATION_FAILED"
    return error.message


async def test_nested_pages_of_a_hundred_are_refused_before_they_run(db: str) -> None:
    message = await _refused(NESTED)

    assert f"more than {SETTINGS.max_query_cost:,} fields" in message


async def test_the_dashboards_widest_pages_are_allowed(db: str) -> None:
    alex = await factories.member("alex@example.org")
    await factories.bill(await factories.account(alex))

    # 100 bills, each with its line items and a page of 100 payments: about 42,000 fields
    result = await execute(WIDE, as_email="alex@example.org", variables={"first": 100})

    assert result.errors is None, result.errors


async def test_a_page_size_given_in_a_variable_counts_as_given(db: str) -> None:
    schema = build_schema(dataclasses.replace(SETTINGS, max_query_cost=20_000))
    await factories.member("alex@example.org")
    viewer = await load_viewer("alex@example.org", Role.MEMBER.value)

    async def run(first: int) -> ExecutionResult:
        context = Context(settings=SETTINGS, viewer=viewer)
        return await schema.execute(WIDE, variable_values={"first": first}, context_value=context)

    few, many = await run(1), await run(100)

    assert few.errors is None, few.errors
    [error] = many.errors or []
    assert "more than 20,000 fields" in error.message


async def test_fragments_spread_inside_each_other_are_counted_without_walking_them_all(
    db: str,
) -> None:
    # Each fragment spreads the next one twice: 2^40 fields if every spread were walked.
    fragments = [f"fragment F{n} on Bill {{ ...F{n + 1} ...F{n + 1} }}" for n in range(40)] + [
        "fragment F40 on Bill { id }"
    ]
    document = "query { bills(first: 1) { edges { node { ...F0 } } } } " + " ".join(fragments)

    message = await _refused(document)

    assert "fields" in message


FEED = """
subscription($first: Int) {
  paymentStatusFeed { payment { account { bills(first: $first) { edges { node { id } } } } } }
}
"""


async def test_a_subscription_over_the_limit_is_refused_before_it_starts(db: str) -> None:
    # Its selection runs for every event; `first` in a variable counts as the largest page.
    schema = build_schema(dataclasses.replace(SETTINGS, max_query_cost=150))
    await factories.member("billing@example.org", staff=True)
    viewer = await load_viewer("billing@example.org", Role.STAFF.value)

    async with running_hub() as hub:
        context = Context(settings=SETTINGS, viewer=viewer, events=hub)
        refused = await schema.subscribe(FEED, variable_values={"first": 1}, context_value=context)
        first = await asyncio.wait_for(anext(refused), 5)  # type: ignore[arg-type]
        small = FEED.replace("($first: Int)", "").replace("$first", "2")
        allowed = await schema.subscribe(small, context_value=context)
        with pytest.raises(TimeoutError):  # it listens for events
            await asyncio.wait_for(anext(allowed), 0.5)  # type: ignore[arg-type]
        await refused.aclose()  # type: ignore[union-attr]
        await allowed.aclose()  # type: ignore[union-attr]

    [error] = first.errors or []
    assert "more than 150 fields" in error.message
