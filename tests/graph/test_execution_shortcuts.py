"""Two shortcuts of the read path give the answers Strawberry's own path gives: plain
fields resolved directly, and a page's line items and payments loaded ahead."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from typing import Any

import pytest
import strawberry
from strawberry.types import ExecutionResult

import graph.loaders
from graph import build_schema
from graph.context import Context
from graph.lean_fields import lean_resolvers
from graph.loaders import Loaders
from models.enums import Role
from resolvers.access import load_viewer
from tests.graph.client import SCHEMA, SETTINGS, count_statements, data_of
from tests.graph.households import statements

WIDE = """
fragment Lines on Bill { lineItems { serviceDate code description provider
  charge { amount currency } insurancePaid { amount } adjustment { amount }
  patientAmount { amount formatted } } }
query {
  viewer { id name email
    accounts { id accountNumber kind providerName status accessRole
      balance { amount } pendingBalance { amount }
      bills(first: 10) { totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { id statementNumber statementDate dueDate status
          totalCharges { amount } insurancePaid { amount } adjustments { amount }
          patientResponsibility { amount } amountPaid { amount } amountPending { amount }
          amountRefunded { amount } amountDue { amount currency formatted }
          minimumDue { amount } ...Lines
          payments { id status kind amount { amount } confirmationNumber createdAt } } } } } }
}
"""


async def _household() -> None:
    await statements("alex@example.org", accounts=2, bills_per_account=3, lines=3)


@pytest.fixture
def deferred_loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Every load a field had to wait for, because nothing had loaded it ahead."""
    calls: list[object] = []
    later = graph.loaders._later

    def counted(loader: Any, key: Any, wrap: Any) -> Any:
        calls.append(key)
        return later(loader, key, wrap)

    monkeypatch.setattr(graph.loaders, "_later", counted)
    yield calls


async def test_plain_fields_resolved_directly_answer_as_strawberrys_resolvers_do(db: str) -> None:
    await _household()
    viewer = await load_viewer("alex@example.org", Role.MEMBER.value)
    answers = []
    for schema in (SCHEMA, build_schema(SETTINGS, lean=False)):
        result = await schema.execute(WIDE, context_value=Context(settings=SETTINGS, viewer=viewer))
        assert result.errors is None, result.errors
        answers.append(result.data)

    assert answers[0] == answers[1]
    assert len(answers[0]["viewer"]["accounts"]) == 2


def test_only_fields_that_need_nothing_but_their_object_are_resolved_directly() -> None:
    plain = build_schema(SETTINGS, lean=False)
    changed = lean_resolvers(plain)
    schema = plain._schema
    bill = schema.type_map["Bill"].fields  # type: ignore[attr-defined]
    account = schema.type_map["BillingAccount"].fields  # type: ignore[attr-defined]

    assert changed > 50
    assert bill["dueDate"].resolve.__qualname__.startswith("_calling")
    for kept in (account["accessRole"], account["bills"], bill["lineItems"]):
        # needs info, takes arguments, or may wait on a DataLoader
        assert not kept.resolve.__qualname__.startswith("_calling")


async def test_a_page_of_bills_loads_its_line_items_and_payments_ahead(
    db: str, deferred_loads: list[object]
) -> None:
    await _household()
    with count_statements() as statements:
        data = await data_of(WIDE, as_email="alex@example.org")

    nodes = [e["node"] for a in data["viewer"]["accounts"] for e in a["bills"]["edges"]]
    assert len(nodes) == 6
    assert all(len(n["lineItems"]) == 3 and len(n["payments"]) == 1 for n in nodes)
    assert deferred_loads == []  # every bill's fields answered from what was loaded ahead
    line_item_queries = [s for s in statements if '"bill_line_item"' in s or "bill_line_item" in s]
    assert len(line_item_queries) == 1  # one batch for both accounts' pages


async def test_nothing_is_loaded_ahead_that_the_query_does_not_select(db: str) -> None:
    await _household()
    query = "query { viewer { accounts { bills { edges { node { statementNumber } } } } } }"
    with count_statements() as statements:
        await data_of(query, as_email="alex@example.org")

    assert not [s for s in statements if "bill_line_item" in s or '"payment"' in s]


async def test_without_dataloaders_each_bill_loads_its_own_and_answers_the_same(
    db: str, deferred_loads: list[object]
) -> None:
    await _household()

    with_loaders = await data_of(WIDE, as_email="alex@example.org")
    assert deferred_loads == []
    without = await data_of(WIDE, as_email="alex@example.org", loaders=False)

    assert without == with_loaders
    assert len(deferred_loads) == 12  # line items and payments of 6 bills, one by one
    assert Loaders(enabled=False).line_items.cache is False


@pytest.mark.parametrize(
    "directive", ["@skip(if: true)", "@include(if: false)", "@include(if: $show)"]
)
async def test_fields_left_out_by_a_directive_are_not_loaded_ahead(db: str, directive: str) -> None:
    await _household()
    query = (
        f"query {'($show: Boolean = false)' if '$show' in directive else ''} "
        "{ viewer { accounts { bills { edges { node { "
        f"statementNumber lineItems {directive} {{ code }} "
        f"... on Bill {directive} {{ payments {{ id }} }} "
        "} } } } } }"
    )
    with count_statements() as statements:
        data = await data_of(query, as_email="alex@example.org")

    node = data["viewer"]["accounts"][0]["bills"]["edges"][0]["node"]
    assert set(node) == {"statementNumber"}
    assert not [s for s in statements if "bill_line_item" in s or '"payment"' in s]


async def test_a_failed_load_ahead_is_reported_by_each_field_that_needs_it(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _household()

    async def unavailable(bill_ids: Any) -> Any:
        raise ConnectionError("payments table unavailable")

    monkeypatch.setattr(graph.loaders, "payments_for_bills", unavailable)
    query = """query { viewer { accounts { id bills { edges { node {
        lineItems { code } payments { id } } } } } } }"""
    viewer = await load_viewer("alex@example.org", Role.MEMBER.value)
    result = await SCHEMA.execute(query, context_value=Context(settings=SETTINGS, viewer=viewer))

    assert result.errors is not None
    # Reported where payments were asked for, not on the page of bills.
    assert all(
        error.path is not None and error.path[-1] == "payments" and "node" in error.path
        for error in result.errors
    )
    assert "payments table unavailable" in result.errors[0].message


async def test_subscriptions_keep_strawberrys_resolvers() -> None:
    @strawberry.type
    class Toy:
        @strawberry.field
        def plain(self) -> int:
            return 1

    async def counting() -> AsyncGenerator[int, None]:
        for n in range(3):
            yield n

    @strawberry.type
    class Ticks:
        @strawberry.subscription  # a plain method, returning the stream
        def ticks(self) -> AsyncGenerator[int, None]:
            return counting()

    schema = strawberry.Schema(query=Toy, subscription=Ticks)
    assert lean_resolvers(schema) == 1  # Toy.plain only

    stream = await schema.subscribe("subscription { ticks }")
    assert not isinstance(stream, ExecutionResult)
    assert [result.data async for result in stream] == [{"ticks": n} for n in range(3)]
