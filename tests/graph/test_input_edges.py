"""Edges a reviewer found: exotic amounts, notices after revoked access, other payers' emails."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from graph.ids import to_global_id
from models import AccountAccess, Notification, Payment
from models.enums import AccessRole, NotificationKind, PaymentStatus
from models.money import InvalidMoney, Money
from tests import factories
from tests.graph.client import data_of, execute
from tests.ledger import snapshot

PAY = """
mutation Pay($input: PayBillInput!) {
  payBill(input: $input) { payment { id status } errors { field code message } }
}
"""


async def _payable() -> dict[str, Any]:
    alex = await factories.member("alex@example.org")
    bill = await factories.bill(await factories.account(alex), due=10_000)
    card = await factories.card(alex)
    return {
        "billId": to_global_id("Bill", bill.id),
        "paymentMethodId": to_global_id("PaymentMethod", card.id),
        "idempotencyKey": "edge-1",
    }


@pytest.mark.parametrize(
    "amount",
    ["1E+999999999", "1e-9999999999", "1e3", "1_0", "\uff11\uff10", " 10", "10.", "NaN", True],
)
async def test_amounts_that_are_not_plain_decimals_are_refused_unechoed(
    db: str, amount: object
) -> None:
    given = await _payable()
    before = await snapshot()

    result = await execute(
        PAY, as_email="alex@example.org", variables={"input": {**given, "amount": amount}}
    )

    assert result.errors is not None and result.data is None
    message = result.errors[0].message
    assert 'plain numbers such as "125.40"' in message
    assert str(amount) not in message
    assert await snapshot() == before


@pytest.mark.parametrize("amount", ["1.005", "0.001", "-5.00", "0"])
async def test_plain_decimals_outside_the_rules_get_invalid_amount(db: str, amount: str) -> None:
    given = await _payable()
    before = await snapshot()

    data = await data_of(
        PAY, as_email="alex@example.org", variables={"input": {**given, "amount": amount}}
    )

    assert data["payBill"]["payment"] is None
    assert [e["code"] for e in data["payBill"]["errors"]] == ["INVALID_AMOUNT"]
    assert await snapshot() == before


def test_money_refuses_huge_and_hyperprecise_decimals_without_overflowing() -> None:
    with pytest.raises(InvalidMoney, match="too large"):
        Money.parse("1E+999999999")
    with pytest.raises(InvalidMoney, match="decimal places"):
        Money.parse("1e-9999999999")
    assert Money.parse("10.000").minor == 1000


NOTICES = """
{ notifications { edges { node { kind bill { id lineItems { code } } account { id } } } } }
"""


async def test_a_notice_stops_showing_its_account_once_access_is_revoked(db: str) -> None:
    alex = await factories.member("alex@example.org")
    sam = await factories.member("sam@example.org")
    acct = await factories.account(alex)
    bill = await factories.bill(acct, due=5_000, lines=2)
    grant = await factories.grant(sam, acct, AccessRole.PROXY_PAY)
    await Notification.create(
        member=sam,
        kind=NotificationKind.STATEMENT_AVAILABLE,
        message="A new statement is available.",
        bill=bill,
        account=acct,
        created_at=datetime.now(UTC),
    )
    shown = await data_of(NOTICES, as_email="sam@example.org")
    node = shown["notifications"]["edges"][0]["node"]
    assert node["bill"]["id"] == to_global_id("Bill", bill.id)
    assert len(node["bill"]["lineItems"]) == 2

    await AccountAccess.filter(id=grant.id).update(revoked_at=datetime.now(UTC))

    hidden = await data_of(NOTICES, as_email="sam@example.org")
    node = hidden["notifications"]["edges"][0]["node"]
    assert node == {"kind": "STATEMENT_AVAILABLE", "bill": None, "account": None}


PAYERS = """
{ payments { edges { node { member { name email } } } } }
"""


async def test_a_payers_email_is_shown_to_themself_and_staff_only(db: str) -> None:
    alex = await factories.member("alex@example.org", name="Alex Rivera")
    sam = await factories.member("sam@example.org", name="Sam Rivera")
    await factories.member("billing@example.org", name="Billing", staff=True)
    acct = await factories.account(alex)
    await factories.grant(sam, acct, AccessRole.PROXY_PAY)
    bill = await factories.bill(acct, due=5_000)
    card = await factories.card(sam)
    await Payment.create(
        bill=bill,
        account=acct,
        member=sam,
        method=card,
        amount=500,
        kind="CARD",
        status=PaymentStatus.SUCCEEDED,
        processor_idempotency_key="edge-pay",
        created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )

    def payer(data: dict[str, Any]) -> dict[str, Any]:
        return dict(data["payments"]["edges"][0]["node"]["member"])

    assert payer(await data_of(PAYERS, as_email="alex@example.org")) == {
        "name": "Sam Rivera",
        "email": None,
    }
    assert payer(await data_of(PAYERS, as_email="sam@example.org"))["email"] == "sam@example.org"
    staff = await data_of(PAYERS, as_email="billing@example.org", staff=True)
    assert payer(staff)["email"] == "sam@example.org"


ADD_METHOD = """
mutation Add($input: AddPaymentMethodInput!) {
  addPaymentMethod(input: $input) { paymentMethod { id } errors { field code message } }
}
"""


@pytest.mark.parametrize("text", ["Alex\x00Rivera", "Alex \ud800", "tab\there"])
async def test_control_characters_and_lone_surrogates_get_invalid_input(db: str, text: str) -> None:
    given = await _payable()
    before = await snapshot()

    bank = await data_of(
        ADD_METHOD,
        as_email="alex@example.org",
        variables={
            "input": {
                "bankAccount": {
                    "routingNumber": "110000000",
                    "accountNumber": "000123456789",
                    "accountType": "CHECKING",
                    "holderName": text,
                }
            }
        },
    )
    card = await data_of(
        ADD_METHOD,
        as_email="alex@example.org",
        variables={"input": {"card": {"token": "tok_visa"}, "nickname": text}},
    )
    pay = await data_of(
        PAY,
        as_email="alex@example.org",
        variables={"input": {**given, "amount": "5.00", "idempotencyKey": text}},
    )

    assert bank["addPaymentMethod"]["errors"][0]["code"] == "INVALID_INPUT"
    assert bank["addPaymentMethod"]["errors"][0]["field"] == ["bankAccount", "holderName"]
    assert card["addPaymentMethod"]["errors"][0]["code"] == "INVALID_INPUT"
    assert pay["payBill"]["errors"][0]["code"] == "INVALID_INPUT"
    assert pay["payBill"]["errors"][0]["field"] == ["idempotencyKey"]
    assert await snapshot() == before
