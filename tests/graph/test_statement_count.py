"""A nested query costs one round trip per level, whatever the list sizes."""

from __future__ import annotations

import pytest

from tests.graph.client import count_statements, data_of
from tests.graph.households import statements

NESTED = """
query {
  viewer {
    accounts {
      bills(first: 50) {
        edges { node { statementNumber lineItems { code } payments { status amount { amount } } } }
      }
    }
  }
}
"""


async def _household(bills_per_account: int) -> None:
    await statements("alex@example.org", accounts=2, bills_per_account=bills_per_account, lines=5)


async def _statements_for(bills_per_account: int) -> int:
    await _household(bills_per_account)
    with count_statements() as statements:
        data = await data_of(NESTED, as_email="alex@example.org")
    edges = [e for a in data["viewer"]["accounts"] for e in a["bills"]["edges"]]
    assert len(edges) == 2 * bills_per_account
    assert all(len(e["node"]["lineItems"]) == 5 for e in edges)
    assert all(len(e["node"]["payments"]) == 1 for e in edges)
    return len(statements)


@pytest.mark.parametrize("bills", [1, 20])
async def test_nested_query_statement_count_does_not_grow_with_bills(db: str, bills: int) -> None:
    from tests.db import truncate_all

    baseline = await _statements_for(1)
    await truncate_all()
    assert await _statements_for(bills) == baseline
    # the viewer (member and access in one), accounts, bills, line items, payments
    assert baseline == 5


async def test_without_dataloaders_the_same_query_costs_a_statement_per_bill(db: str) -> None:
    await _household(5)
    with count_statements() as statements:
        await data_of(NESTED, as_email="alex@example.org", loaders=False)
    assert len(statements) > 5 * 2 * 2
