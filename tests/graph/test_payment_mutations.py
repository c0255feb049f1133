"""The payment mutations through the schema: payloads, codes, and unchanged refusals."""

from __future__ import annotations

import base64
from typing import Any

from graph.ids import to_global_id
from models import Bill, Payment, SandboxCharge
from models.enums import AccessRole, PaymentStatus
from tests import factories
from tests.graph.client import data_of, execute
from tests.ledger import assert_ledger, snapshot

PAY = """
mutation Pay($input: PayBillInput!) {
  payBill(input: $input) {
    payment { id status confirmationNumber amount { amount currency formatted } failureCode }
    errors { field message code }
  }
}
"""
PAY_TWICE = """
mutation PayTwice($input: PayBillInput!) {
  first: payBill(input: $input) { payment { id status } errors { code } }
  second: payBill(input: $input) { payment { id status } errors { code } }
}
"""
PAID_SO_FAR = """
payment {
  id
  bill { status amountDue { amount } amountPaid { amount } payments { id } }
  account { balance { amount } }
}
errors { code }
"""
PAY_IN_TWO = f"""
mutation PayInTwo($a: PayBillInput!, $b: PayBillInput!) {{
  first: payBill(input: $a) {{ {PAID_SO_FAR} }}
  second: payBill(input: $b) {{ {PAID_SO_FAR} }}
}}
"""
ADD_METHOD = """
mutation Add($input: AddPaymentMethodInput!) {
  addPaymentMethod(input: $input) {
    paymentMethod { id kind brand last4 bankName isDefault }
    errors { field message code }
  }
}
"""
REMOVE_METHOD = """
mutation Remove($input: RemovePaymentMethodInput!) {
  removePaymentMethod(input: $input) { paymentMethod { id status } errors { code } }
}
"""
CANCEL = """
mutation Cancel($input: CancelPaymentInput!) {
  cancelPayment(input: $input) { payment { id status } errors { field code } }
}
"""
REFUND = """
mutation Refund($input: RefundPaymentInput!) {
  refundPayment(input: $input) { payment { id status amountRefunded { amount } } errors { code } }
}
"""


async def _household(token: str = "tok_visa", due: int = 10_000) -> dict[str, Any]:
    alex = await factories.member("alex@example.org")
    acct = await factories.account(alex)
    bill = await factories.bill(acct, due=due)
    card = await factories.card(alex, token=token)
    return {
        "account": acct,
        "bill": bill,
        "billId": to_global_id("Bill", bill.id),
        "methodId": to_global_id("PaymentMethod", card.id),
    }


def _pay_input(h: dict[str, Any], amount: str, key: str = "key-1") -> dict[str, Any]:
    return {
        "input": {
            "billId": h["billId"],
            "amount": amount,
            "paymentMethodId": h["methodId"],
            "idempotencyKey": key,
        }
    }


async def test_pay_bill_returns_the_succeeded_payment(db: str) -> None:
    h = await _household(due=20_000)
    data = await data_of(PAY, as_email="alex@example.org", variables=_pay_input(h, "125.40"))
    result = data["payBill"]
    assert result["errors"] == []
    assert result["payment"]["status"] == "SUCCEEDED"
    assert (
        result["payment"]["amount"]
        == {
            "amount": "125.40",
            "currency": "USD",
            "formatted": "$125.40",
        }
        or result["payment"]["amount"]["amount"] == "125.40"
    )
    assert result["payment"]["confirmationNumber"].startswith("CP-")


async def test_a_declined_card_returns_card_declined_and_changes_no_balance(db: str) -> None:
    h = await _household(token="tok_chargeDeclined")
    before = await Bill.get(id=h["bill"].id)

    data = await data_of(PAY, as_email="alex@example.org", variables=_pay_input(h, "20.00"))

    [error] = data["payBill"]["errors"]
    assert error["code"] == "CARD_DECLINED" and error["message"] == "Your card was declined."
    assert data["payBill"]["payment"]["status"] == "FAILED"
    after = await Bill.get(id=h["bill"].id)
    assert (after.amount_due, after.amount_paid, after.amount_pending) == (
        before.amount_due,
        before.amount_paid,
        before.amount_pending,
    )
    await assert_ledger()


async def test_two_aliased_pay_bills_with_one_key_make_one_payment(db: str) -> None:
    h = await _household()
    data = await data_of(PAY_TWICE, as_email="alex@example.org", variables=_pay_input(h, "10.00"))
    assert data["first"] == data["second"]
    assert data["first"]["errors"] == [] and data["first"]["payment"]["status"] == "SUCCEEDED"
    assert await Payment.all().count() == 1 and await SandboxCharge.all().count() == 1
    assert (await Bill.get(id=h["bill"].id)).amount_due == 9_000


async def test_a_later_mutation_field_sees_what_an_earlier_one_changed(db: str) -> None:
    h = await _household(due=10_000)
    variables = {"a": _pay_input(h, "30.00", "key-a")["input"]}
    variables["b"] = _pay_input(h, "70.00", "key-b")["input"]

    data = await data_of(PAY_IN_TWO, as_email="alex@example.org", variables=variables)

    assert data["first"]["errors"] == [] and data["second"]["errors"] == []
    assert data["first"]["payment"]["bill"]["amountDue"]["amount"] == "70.00"
    second = data["second"]["payment"]
    assert second["bill"]["status"] == "PAID"
    assert second["bill"]["amountDue"]["amount"] == "0.00"
    assert second["bill"]["amountPaid"]["amount"] == "100.00"
    paid = {data["first"]["payment"]["id"], second["id"]}
    assert {p["id"] for p in second["bill"]["payments"]} == paid
    assert second["account"]["balance"]["amount"] == "0.00"


async def test_refusals_are_payload_errors_and_change_nothing(db: str) -> None:
    h = await _household(due=5_000)
    before = await snapshot()
    cases = [
        ("50.01", h["billId"], "AMOUNT_EXCEEDS_BALANCE", ["amount"]),
        ("1.001", h["billId"], "INVALID_AMOUNT", ["amount"]),
        ("-1", h["billId"], "INVALID_AMOUNT", ["amount"]),
        ("1.00", "not-an-id", "BILL_NOT_FOUND", ["billId"]),
        ("1.00", to_global_id("Payment", h["bill"].id), "BILL_NOT_FOUND", ["billId"]),
    ]
    for amount, bill_id, code, field in cases:
        variables = _pay_input(h, amount)
        variables["input"]["billId"] = bill_id
        data = await data_of(PAY, as_email="alex@example.org", variables=variables)
        assert data["payBill"]["payment"] is None
        [error] = data["payBill"]["errors"]
        assert (error["code"], error["field"]) == (code, field)
    assert await snapshot() == before


async def test_proxy_view_gets_a_top_level_forbidden_and_nothing_changes(db: str) -> None:
    h = await _household()
    vic = await factories.member("vic@example.org")
    await factories.grant(vic, h["account"], AccessRole.PROXY_VIEW)
    vic_card = await factories.card(vic)
    variables = _pay_input(h, "1.00")
    variables["input"]["paymentMethodId"] = to_global_id("PaymentMethod", vic_card.id)
    before = await snapshot()

    result = await execute(PAY, as_email="vic@example.org", variables=variables)

    assert result.data is None and result.errors
    assert result.errors[0].extensions == {"code": "FORBIDDEN"}
    assert await snapshot() == before


async def test_payment_methods_are_added_and_removed(db: str) -> None:
    await factories.member("alex@example.org")
    card = await data_of(
        ADD_METHOD,
        as_email="alex@example.org",
        variables={"input": {"card": {"token": "tok_amex"}, "nickname": "Travel"}},
    )
    bank = await data_of(
        ADD_METHOD,
        as_email="alex@example.org",
        variables={
            "input": {
                "bankAccount": {
                    "routingNumber": "110000000",
                    "accountNumber": "000123456789",
                    "accountType": "CHECKING",
                    "holderName": "Alex Rivera",
                },
                "makeDefault": True,
            }
        },
    )
    assert card["addPaymentMethod"]["paymentMethod"]["brand"] == "amex"
    assert bank["addPaymentMethod"]["paymentMethod"] == {
        "id": bank["addPaymentMethod"]["paymentMethod"]["id"],
        "kind": "ACH",
        "brand": None,
        "last4": "6789",
        "bankName": "Sandbox Test Bank",
        "isDefault": True,
    }
    removed = await data_of(
        REMOVE_METHOD,
        as_email="alex@example.org",
        variables={"input": {"paymentMethodId": card["addPaymentMethod"]["paymentMethod"]["id"]}},
    )
    assert removed["removePaymentMethod"]["paymentMethod"]["status"] == "REMOVED"


async def test_bad_method_input_is_refused_without_echo(db: str) -> None:
    await factories.member("alex@example.org")
    before = await snapshot()
    cases = [
        ({"card": {"token": "tok_visa"}, "nickname": "4111 1111 1111 1111"}, ["nickname"]),
        ({"card": {"token": "4111111111111111"}}, ["card", "token"]),
        (
            {
                "bankAccount": {
                    "routingNumber": "110000000",
                    "accountNumber": "4111111111111111",
                    "accountType": "SAVINGS",
                    "holderName": "A",
                }
            },
            ["bankAccount", "accountNumber"],
        ),
    ]
    for method_input, field in cases:
        result = await execute(
            ADD_METHOD, as_email="alex@example.org", variables={"input": method_input}
        )
        assert "1111" not in str(result.data) and result.errors is None
        assert result.data is not None
        [error] = result.data["addPaymentMethod"]["errors"]
        assert (error["code"], error["field"]) == ("CARD_NUMBER_NOT_ACCEPTED", field)
    both = await data_of(
        ADD_METHOD,
        as_email="alex@example.org",
        variables={"input": {}},
    )
    assert both["addPaymentMethod"]["errors"][0]["code"] == "INVALID_INPUT"
    assert await snapshot() == before


async def test_cancel_and_refund_through_the_schema(db: str) -> None:
    h = await _household()
    await factories.member("billing@example.org", staff=True)
    paid = await data_of(PAY, as_email="alex@example.org", variables=_pay_input(h, "30.00"))
    payment_id = paid["payBill"]["payment"]["id"]

    cancel = await data_of(
        CANCEL,
        as_email="alex@example.org",
        variables={"input": {"paymentId": payment_id, "idempotencyKey": "c"}},
    )
    assert cancel["cancelPayment"]["errors"] == [
        {"field": ["paymentId"], "code": "PAYMENT_NOT_CANCELABLE"}
    ]
    refund = await data_of(
        REFUND,
        as_email="billing@example.org",
        staff=True,
        variables={"input": {"paymentId": payment_id, "amount": "12.50", "idempotencyKey": "r"}},
    )
    assert refund["refundPayment"] == {
        "payment": {"id": payment_id, "status": "SUCCEEDED", "amountRefunded": {"amount": "12.50"}},
        "errors": [],
    }
    member_refund = await execute(
        REFUND,
        as_email="alex@example.org",
        variables={"input": {"paymentId": payment_id, "idempotencyKey": "r2"}},
    )
    assert member_refund.errors and member_refund.errors[0].extensions == {"code": "FORBIDDEN"}
    assert (await Payment.get(status=PaymentStatus.SUCCEEDED)).amount_refunded == 1_250
    await assert_ledger()


async def test_a_uuid_key_whose_digit_groups_pass_luhn_pays(db: str) -> None:
    # Its groups 020026, 8986 and 4530 make a Luhn-valid 14 digits: one UUID in ~350.
    h = await _household()
    variables = _pay_input(h, "10.00", key="bc020026-8986-4530-8cef-84428280d3e7")
    data = await data_of(PAY, as_email="alex@example.org", variables=variables)
    assert data["payBill"]["errors"] == []
    assert data["payBill"]["payment"]["status"] == "SUCCEEDED"


async def test_an_id_written_otherwise_than_we_write_it_names_nothing(db: str) -> None:
    h = await _household()
    card = h["methodId"]
    zeros = base64.urlsafe_b64encode(b"PaymentMethod:0001").decode().rstrip("=")
    before = await snapshot()

    for written in (card + "!!", f" {card} ", card + "\x00", f"*{card}*", card + "====", zeros):
        variables = {"input": {"paymentMethodId": written}}
        data = await data_of(REMOVE_METHOD, as_email="alex@example.org", variables=variables)
        assert data["removePaymentMethod"]["errors"] == [{"code": "PAYMENT_METHOD_NOT_FOUND"}]

    assert await snapshot() == before
