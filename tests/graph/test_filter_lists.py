"""Status lists in filters: any length a client sends filters as the distinct statuses do."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from adapters.clock import FixedClock, set_clock
from graph.ids import to_global_id
from tests import factories
from tests.event_helpers import payment
from tests.graph.client import data_of, execute

BILLS = """
query($filter: BillFilter) {
  bills(filter: $filter) { totalCount edges { node { statementNumber } } }
  viewer { accounts { bills(filter: $filter) { totalCount } } }
}
"""
PAYMENTS = """
query($filter: PaymentFilter) {
  payments(filter: $filter) { totalCount }
  viewer { accounts { payments(filter: $filter) { totalCount } } }
}
"""
# Variables are not counted by the query token limit; PostgreSQL takes at most 32767
# parameters in one statement.
REPEATS = 40_000


async def test_a_status_repeated_forty_thousand_times_filters_as_once(db: str) -> None:
    # given: an overdue bill, two not yet due, and a succeeded payment of one of them
    set_clock(FixedClock(datetime(2026, 11, 2, 9, tzinfo=UTC)))
    alex = await factories.member("alex@example.org")
    account = await factories.account(alex)
    await factories.bill(account, due_date=date(2020, 1, 1))
    await factories.bill(account, due_date=date(2099, 1, 1))
    await payment(alex, account)
    for document, statuses, found in [
        (BILLS, ["OVERDUE", "PAID"], "bills"),
        (PAYMENTS, ["SUCCEEDED", "PROCESSING"], "payments"),
    ]:
        # when
        once = await data_of(
            document, as_email="alex@example.org", variables={"filter": {"status": statuses}}
        )
        repeated = await data_of(
            document,
            as_email="alex@example.org",
            variables={"filter": {"status": statuses * REPEATS}},
        )
        # then: the same answer, and the filter is real (one of the rows matches)
        assert repeated == once
        assert once[found]["totalCount"] == 1, once


@pytest.mark.parametrize(
    "bad",
    [
        "bills(first: 500)",
        'bills(after: "not-a-cursor")',
        'bills(filter: {dueOnOrAfter: "2026-02-01", dueOnOrBefore: "2026-01-01"})',
    ],
)
async def test_a_bad_nested_page_is_reported_on_its_own_field(db: str, bad: str) -> None:
    # One batch loads both pages; the bad one's error must not land on the good one.
    alex = await factories.member("alex@example.org")
    await factories.bill(await factories.account(alex))
    document = (
        "query { viewer { accounts { good: bills(first: 2) { totalCount } "
        f"bad: {bad} {{ totalCount }} }} }} }}"
    )

    result = await execute(document, as_email="alex@example.org")

    [error] = result.errors or []
    assert error.path == ["viewer", "accounts", 0, "bad"]
    assert (error.extensions or {}).get("code") == "BAD_USER_INPUT"


async def test_a_filter_id_of_another_type_or_an_empty_status_list_is_refused(db: str) -> None:
    alex = await factories.member("alex@example.org")
    account = await factories.account(alex)
    bill = await factories.bill(account)
    refused = [
        (BILLS, {"accountId": to_global_id("Bill", bill.id)}, "`filter.accountId`"),
        (BILLS, {"accountId": "nonsense"}, "`filter.accountId`"),
        (BILLS, {"status": []}, "`filter.status` is empty"),
        (PAYMENTS, {"billId": to_global_id("BillingAccount", account.id)}, "`filter.billId`"),
        (PAYMENTS, {"status": []}, "`filter.status` is empty"),
    ]
    for document, flt, said in refused:
        result = await execute(document, as_email="alex@example.org", variables={"filter": flt})
        assert result.errors, flt
        assert {e.extensions["code"] for e in result.errors if e.extensions} == {"BAD_USER_INPUT"}
        assert said in result.errors[0].message

    unknown = {"accountId": to_global_id("BillingAccount", 10**6)}
    found = await data_of(BILLS, as_email="alex@example.org", variables={"filter": unknown})
    assert found["bills"]["totalCount"] == 0  # an ID of the right type that names nothing
