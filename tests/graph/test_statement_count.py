"""A nested query costs one round trip per level, whatever the list sizes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models import Payment
from models.enums import PaymentKind, PaymentStatus
from tests import factories
from tests.graph.client import count_statements, data_of

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
    alex = await factories.member("alex@example.org")
    for _ in range(2):
        account = await factories.account(alex)
        for _ in range(bills_per_account):
            bill = await factories.bill(account, due=10000, lines=5)
            await Payment.create(
                bill=bill,
                account=account,
                member=alex,
                amount=100,
                kind=PaymentKind.CARD,
                status=PaymentStatus.FAILED,
                processor_idempotency_key=f"k-{bill.id}",
                created_at=datetime(2026, 11, 2, tzinfo=UTC),
                updated_at=datetime(2026, 11, 2, tzinfo=UTC),
            )


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
    # member + access (the viewer), accounts, bills, line items, payments
    assert baseline == 6


async def test_without_dataloaders_the_same_query_costs_a_statement_per_bill(db: str) -> None:
    await _household(5)
    with count_statements() as statements:
        await data_of(NESTED, as_email="alex@example.org", loaders=False)
    assert len(statements) > 5 * 2 * 2
