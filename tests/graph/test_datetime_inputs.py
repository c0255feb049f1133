"""DateTime arguments: a time without a zone is UTC, and a time UTC cannot hold is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.clock import FixedClock, set_clock
from graph.scalars import DATETIME_RANGE_MESSAGE
from tests import factories
from tests.event_helpers import payment
from tests.graph.client import data_of, execute
from tests.ledger import snapshot

COUNT = """
query($after: DateTime, $before: DateTime) {
  payments(filter: {createdAfter: $after, createdBefore: $before}) { totalCount }
}
"""
CURSOR = "query($before: DateTime) { paymentEventCursor(occurredBefore: $before) }"
PAID_AT = datetime(2025, 3, 2, 0, 30, tzinfo=UTC)


async def _paid_at_half_past_midnight() -> None:
    alex = await factories.member("alex@example.org")
    set_clock(FixedClock(PAID_AT))
    await payment(alex, await factories.account(alex))


@pytest.mark.parametrize(
    ("after", "before", "count"),
    [
        ("2025-03-02T00:00:00", "2025-03-02T01:00:00Z", 1),
        ("2025-03-02T00:00:00Z", "2025-03-02T01:00:00", 1),
        ("2025-03-02T00:45:00", "2025-03-02T01:00:00Z", 0),
        ("2025-03-01T19:00:00-05:00", "2025-03-02T00:30:00", 0),  # before is exclusive
        ("2025-03-01T19:30:00-05:00", "2025-03-02T00:31:00", 1),
    ],
)
async def test_a_time_without_a_zone_is_utc_and_mixes_with_one_that_has_a_zone(
    db: str, after: str, before: str, count: int
) -> None:
    await _paid_at_half_past_midnight()

    data = await data_of(
        COUNT, as_email="alex@example.org", variables={"after": after, "before": before}
    )

    assert data["payments"]["totalCount"] == count


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (COUNT, {"after": "0001-01-01T00:00:00+05:00"}),
        (COUNT, {"before": "9999-12-31T23:59:59-05:00"}),
        (CURSOR, {"before": "0001-01-01T00:00:00+05:00"}),
    ],
)
async def test_a_time_outside_the_years_utc_holds_is_refused_clearly(
    db: str, document: str, variables: dict[str, str]
) -> None:
    await _paid_at_half_past_midnight()
    await factories.member("billing@example.org", staff=True)
    before = await snapshot()

    result = await execute(
        document, as_email="billing@example.org", staff=True, variables=variables
    )

    assert result.data is None and result.errors is not None
    assert [DATETIME_RANGE_MESSAGE in error.message for error in result.errors] == [True]
    assert await snapshot() == before


async def test_the_edges_of_the_range_are_still_times(db: str) -> None:
    await _paid_at_half_past_midnight()
    earliest, latest = "0001-01-01T05:00:00+05:00", "9999-12-31T18:59:59-05:00"

    data = await data_of(
        COUNT, as_email="alex@example.org", variables={"after": earliest, "before": latest}
    )

    assert data["payments"]["totalCount"] == 1
