"""The read side through the schema: viewer, bills, payments, filters, pagination."""

from __future__ import annotations

from datetime import date

from graph.ids import to_global_id
from models.enums import AccessRole
from tests import factories
from tests.graph.client import data_of

VIEWER_DASHBOARD = """
query {
  viewer {
    email
    accounts {
      accountNumber accessRole
      balance { amount currency formatted }
      bills(first: 50) {
        totalCount
        edges { node {
          statementNumber status
          amountDue { amount }
          patientResponsibility { amount }
          lineItems { code description patientAmount { amount } }
          payments { amount { amount } status }
        } }
      }
    }
  }
}
"""


async def test_viewer_sees_own_accounts_bills_and_line_items(db: str) -> None:
    # given
    alex = await factories.member("alex@example.org")
    account = await factories.account(alex)
    await factories.bill(account, due=12540, lines=3)
    # when
    data = await data_of(VIEWER_DASHBOARD, as_email="alex@example.org")
    # then
    [acct] = data["viewer"]["accounts"]
    assert acct["accessRole"] == "GUARANTOR"
    assert acct["balance"] == {"amount": "125.40", "currency": "USD", "formatted": "$125.40"}
    [edge] = acct["bills"]["edges"]
    assert edge["node"]["amountDue"] == {"amount": "125.40"}
    assert len(edge["node"]["lineItems"]) == 3
    total = sum(
        int(i["patientAmount"]["amount"].replace(".", "")) for i in edge["node"]["lineItems"]
    )
    assert total == 12540


async def test_proxy_sees_only_the_account_granted(db: str) -> None:
    alex = await factories.member("alex@example.org")
    sam = await factories.member("sam@example.org")
    shared = await factories.account(alex)
    await factories.account(alex)
    await factories.grant(sam, shared, AccessRole.PROXY_PAY)
    data = await data_of(VIEWER_DASHBOARD, as_email="sam@example.org")
    assert [a["accountNumber"] for a in data["viewer"]["accounts"]] == [shared.account_number]
    assert data["viewer"]["accounts"][0]["accessRole"] == "PROXY_PAY"


BILLS_PAGE = """
query($first: Int, $after: String, $filter: BillFilter) {
  bills(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { statementNumber status dueDate } }
  }
}
"""


async def test_bills_paginate_newest_first_without_gaps_or_repeats(db: str) -> None:
    alex = await factories.member("alex@example.org")
    account = await factories.account(alex)
    made = [
        await factories.bill(account, statement_date=date(2026, month, 1)) for month in range(1, 8)
    ]
    seen: list[str] = []
    after = None
    while True:
        data = await data_of(
            BILLS_PAGE, as_email="alex@example.org", variables={"first": 3, "after": after}
        )
        page = data["bills"]
        assert page["totalCount"] == 7
        seen += [e["node"]["statementNumber"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [b.statement_number for b in reversed(made)]


async def test_bills_filter_by_status_and_due_dates(db: str) -> None:
    alex = await factories.member("alex@example.org")
    account = await factories.account(alex)
    overdue = await factories.bill(account, due_date=date(2020, 1, 1))
    await factories.bill(account, due_date=date(2099, 1, 1))
    data = await data_of(
        BILLS_PAGE, as_email="alex@example.org", variables={"filter": {"status": ["OVERDUE"]}}
    )
    assert [e["node"]["statementNumber"] for e in data["bills"]["edges"]] == [
        overdue.statement_number
    ]
    data = await data_of(
        BILLS_PAGE,
        as_email="alex@example.org",
        variables={"filter": {"dueOnOrAfter": "2090-01-01", "dueOnOrBefore": "2099-12-31"}},
    )
    assert [e["node"]["dueDate"] for e in data["bills"]["edges"]] == ["2099-01-01"]


async def test_bad_cursor_is_a_clear_error(db: str) -> None:
    await factories.member("alex@example.org")
    from tests.graph.client import execute

    result = await execute(BILLS_PAGE, as_email="alex@example.org", variables={"after": "zzz"})
    assert result.errors
    assert "cursor" in result.errors[0].message
    assert result.errors[0].extensions == {"code": "BAD_USER_INPUT"}


async def test_node_round_trips_a_bill(db: str) -> None:
    alex = await factories.member("alex@example.org")
    bill = await factories.bill(await factories.account(alex))
    gid = to_global_id("Bill", bill.id)
    data = await data_of(
        "query($id: ID!) { node(id: $id) { id ... on Bill { statementNumber } } }",
        as_email="alex@example.org",
        variables={"id": gid},
    )
    assert data["node"] == {"id": gid, "statementNumber": bill.statement_number}


async def test_staff_reads_every_account(db: str) -> None:
    alex = await factories.member("alex@example.org")
    bill = await factories.bill(await factories.account(alex))
    await factories.member("billing@example.org", staff=True)
    data = await data_of(
        "query($id: ID!) { bill(id: $id) { statementNumber } }",
        as_email="billing@example.org",
        staff=True,
        variables={"id": to_global_id("Bill", bill.id)},
    )
    assert data["bill"] == {"statementNumber": bill.statement_number}
