"""setupAutopay, cancelAutopay and AutopayEnrollment.nextRun over GraphQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from adapters.clock import FixedClock, set_clock
from graph.ids import to_global_id
from models import AutopayEnrollment
from models.enums import AccessRole, AutopayErrorCode, AutopayStatus
from tests import factories
from tests.graph.client import data_of

SETUP = """
mutation Setup($input: SetupAutopayInput!) {
  setupAutopay(input: $input) {
    autopay { id status strategy daysBeforeDue maxAmount { amount } fixedAmount { amount } }
    errors { field message code }
  }
}
"""
CANCEL = """
mutation Cancel($input: CancelAutopayInput!) {
  cancelAutopay(input: $input) { autopay { id status } errors { field message code } }
}
"""
NEXT_RUN = """
query NextRun($accountId: ID!) {
  autopay(accountId: $accountId) {
    status
    nextRun {
      date
      amount { amount formatted }
      method { last4 }
      bill { statementNumber }
      skipReason
    }
  }
}
"""


async def household() -> dict[str, Any]:
    set_clock(FixedClock(datetime(2026, 12, 1, 9, tzinfo=UTC)))
    jordan = await factories.member("jordan@example.org")
    acct = await factories.account(jordan)
    card = await factories.card(jordan, token="tok_mastercard")
    return {
        "jordan": jordan,
        "acct": acct,
        "accountId": to_global_id("BillingAccount", acct.id),
        "cardId": to_global_id("PaymentMethod", card.id),
    }


async def setup(variables: dict[str, Any], as_email: str = "jordan@example.org") -> Any:
    data = await data_of(SETUP, as_email=as_email, variables={"input": variables})
    return data["setupAutopay"]


async def test_setup_then_next_run_then_cancel(db: str) -> None:
    h = await household()
    bill = await factories.bill(h["acct"], due=12_000, due_date=date(2026, 12, 16))

    result = await setup(
        {
            "accountId": h["accountId"],
            "paymentMethodId": h["cardId"],
            "strategy": "STATEMENT_BALANCE",
            "maxAmount": "100.00",
        }
    )

    assert result["errors"] == []
    assert result["autopay"]["status"] == "ACTIVE"
    assert result["autopay"]["daysBeforeDue"] == 3
    assert result["autopay"]["maxAmount"] == {"amount": "100.00"}
    run = (await data_of(NEXT_RUN, as_email="jordan@example.org", variables=h))["autopay"]
    assert run["nextRun"] == {
        "date": "2026-12-14",  # December 13 is a Sunday
        "amount": {"amount": "100.00", "formatted": "$100.00"},
        "method": {"last4": "4242"},
        "bill": {"statementNumber": bill.statement_number},
        "skipReason": None,
    }

    canceled = (
        await data_of(
            CANCEL,
            as_email="jordan@example.org",
            variables={"input": {"accountId": h["accountId"]}},
        )
    )["cancelAutopay"]
    assert canceled["errors"] == [] and canceled["autopay"]["status"] == "CANCELED"
    after = (await data_of(NEXT_RUN, as_email="jordan@example.org", variables=h))["autopay"]
    assert after["nextRun"]["skipReason"] == "ENROLLMENT_CANCELED"


async def test_a_proxy_viewer_sees_the_next_run_but_not_the_method(db: str) -> None:
    h = await household()
    viewer = await factories.member("viv@example.org")
    await factories.grant(viewer, h["acct"], AccessRole.PROXY_VIEW)
    await factories.bill(h["acct"], due_date=date(2026, 12, 16))
    await setup(
        {"accountId": h["accountId"], "paymentMethodId": h["cardId"], "strategy": "MINIMUM_DUE"}
    )

    run = (await data_of(NEXT_RUN, as_email="viv@example.org", variables=h))["autopay"]["nextRun"]

    assert run["method"] is None and run["skipReason"] == "NO_MINIMUM_SET"  # owes, no minimum


async def test_a_foreign_account_is_refused_exactly_as_an_unknown_one(db: str) -> None:
    h = await household()
    alex = await factories.member("alex@example.org")
    theirs = await factories.account(alex)
    before = await AutopayEnrollment.all().count()

    refused = {}
    for name, account_id in [
        ("theirs", to_global_id("BillingAccount", theirs.id)),
        ("unknown", to_global_id("BillingAccount", 10**9)),
        ("garbage", "not-an-id"),
    ]:
        refused[name] = await setup(
            {
                "accountId": account_id,
                "paymentMethodId": h["cardId"],
                "strategy": "STATEMENT_BALANCE",
            }
        )
        cancel = await data_of(
            CANCEL, as_email="jordan@example.org", variables={"input": {"accountId": account_id}}
        )
        assert cancel["cancelAutopay"]["errors"][0]["code"] == AutopayErrorCode.ACCOUNT_NOT_FOUND

    assert refused["theirs"] == refused["unknown"] == refused["garbage"]
    assert refused["theirs"]["autopay"] is None
    assert refused["theirs"]["errors"] == [
        {
            "field": ["accountId"],
            "message": "There is no such account.",
            "code": "ACCOUNT_NOT_FOUND",
        }
    ]
    assert await AutopayEnrollment.all().count() == before


async def test_validation_errors_name_the_field_and_change_nothing(db: str) -> None:
    h = await household()
    base = {"accountId": h["accountId"], "paymentMethodId": h["cardId"]}

    no_amount = await setup({**base, "strategy": "FIXED_AMOUNT"})
    too_precise = await setup({**base, "strategy": "FIXED_AMOUNT", "fixedAmount": "1.234"})
    days = await setup({**base, "strategy": "STATEMENT_BALANCE", "daysBeforeDue": 45})
    method = await setup(
        {**base, "paymentMethodId": to_global_id("PaymentMethod", 10**9), "strategy": "MINIMUM_DUE"}
    )

    assert [
        (r["errors"][0]["code"], r["errors"][0]["field"])
        for r in (no_amount, too_precise, days, method)
    ] == [
        ("INVALID_AMOUNT", ["fixedAmount"]),
        ("INVALID_AMOUNT", ["fixedAmount"]),
        ("INVALID_INPUT", ["daysBeforeDue"]),
        ("PAYMENT_METHOD_NOT_FOUND", ["paymentMethodId"]),
    ]
    assert not await AutopayEnrollment.exists()


async def test_setting_up_again_changes_and_resumes_a_suspended_enrollment(db: str) -> None:
    h = await household()
    base = {"accountId": h["accountId"], "paymentMethodId": h["cardId"]}
    first = await setup({**base, "strategy": "STATEMENT_BALANCE"})
    await AutopayEnrollment.filter(account_id=h["acct"].id).update(
        status=AutopayStatus.SUSPENDED, consecutive_failures=3
    )

    changed = await setup(
        {**base, "strategy": "FIXED_AMOUNT", "fixedAmount": "25", "daysBeforeDue": 5}
    )

    assert changed["errors"] == []
    assert changed["autopay"]["id"] == first["autopay"]["id"]
    assert changed["autopay"]["status"] == "ACTIVE"
    assert changed["autopay"]["fixedAmount"] == {"amount": "25.00"}
    assert changed["autopay"]["daysBeforeDue"] == 5
