"""Fuzz: card numbers sent in any field are refused, never echoed, stored or logged."""

from __future__ import annotations

import json
import logging
import re
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.ids import to_global_id
from models import Member
from models.validation import luhn_valid
from tests import factories
from tests.graph.client import execute
from tests.ledger import snapshot

PAY = """mutation($input: PayBillInput!) {
  payBill(input: $input) { payment { id } errors { field message code } } }"""
ADD = """mutation($input: AddPaymentMethodInput!) {
  addPaymentMethod(input: $input) { paymentMethod { id } errors { field message code } } }"""
CANCEL = """mutation($input: CancelPaymentInput!) {
  cancelPayment(input: $input) { payment { id } errors { field message code } } }"""
REFUND = """mutation($input: RefundPaymentInput!) {
  refundPayment(input: $input) { payment { id } errors { field message code } } }"""

# (brand prefix, length) of the card networks.
NETWORKS = [("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16)]
NETWORKS += [("34", 15), ("37", 15), ("6011", 16), ("65", 16), ("35", 16), ("62", 19)]


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """A Luhn-valid card number of a real network."""
    prefix, length = draw(st.sampled_from(NETWORKS))
    body = prefix + draw(
        st.text("0123456789", min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1)
    )
    return body + next(d for d in "0123456789" if luhn_valid(body + d))


def formatted(digits: str, separator: str) -> str:
    """The number as people type it: plain, or in groups of four."""
    if not separator:
        return digits
    return separator.join(digits[i : i + 4] for i in range(0, len(digits), 4))


WRAP = st.text(string.ascii_letters + " :#,", max_size=8)


def _ids() -> dict[str, str]:
    return {"bill": to_global_id("Bill", 1), "method": to_global_id("PaymentMethod", 1)}


def _bank(**override: str) -> dict[str, Any]:
    bank = {
        "routingNumber": "110000000",
        "accountNumber": "000123456789",
        "accountType": "CHECKING",
        "holderName": "Alex Rivera",
    }
    return {"bankAccount": {**bank, **override}}


def _pay(**override: Any) -> dict[str, Any]:
    ids = _ids()
    base = {"billId": ids["bill"], "amount": "1.00", "paymentMethodId": ids["method"]}
    return {"idempotencyKey": "k", **base, **override}


# Where the number goes: (document, staff?, input builder).
TARGETS: list[tuple[str, bool, Callable[[Any], dict[str, Any]]]] = [
    (PAY, False, lambda v: _pay(idempotencyKey=v)),
    (PAY, False, lambda v: _pay(amount=v)),
    (PAY, False, lambda v: _pay(billId=v)),
    (PAY, False, lambda v: _pay(paymentMethodId=v)),
    (ADD, False, lambda v: {"card": {"token": v}}),
    (ADD, False, lambda v: {"card": {"token": "tok_visa"}, "nickname": v}),
    (ADD, False, lambda v: _bank(holderName=v)),
    (ADD, False, lambda v: _bank(accountNumber=v)),
    (ADD, False, lambda v: _bank(routingNumber=v)),
    (ADD, False, lambda v: {"card": {"token": "tok_visa"}, "makeDefault": v}),
    (CANCEL, False, lambda v: {"paymentId": to_global_id("Payment", 1), "idempotencyKey": v}),
    (
        REFUND,
        True,
        lambda v: {"paymentId": to_global_id("Payment", 1), "reason": v, "idempotencyKey": "r"},
    ),
    (
        REFUND,
        True,
        lambda v: {"paymentId": to_global_id("Payment", 1), "amount": v, "idempotencyKey": "r"},
    ),
]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def every_log_line() -> Iterator[list[str]]:
    """Every log record of every logger, SQL statements with their values included."""
    root = logging.getLogger()
    capture = _Capture()
    previous = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(capture)
    try:
        yield capture.lines
    finally:
        root.removeHandler(capture)
        root.setLevel(previous)


def _digits_only(text: str) -> str:
    return re.sub(r"[\s\-.]", "", text)


async def _household() -> None:
    if await Member.exists(email="alex@example.org"):
        return
    alex = await factories.member("alex@example.org")
    await factories.bill(await factories.account(alex), due=10_000)
    await factories.card(alex)
    await factories.member("billing@example.org", staff=True)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    number=card_numbers(),
    separator=st.sampled_from(["", " ", "-", "."]),
    before=WRAP,
    after=WRAP,
    target=st.sampled_from(TARGETS),
    as_json_number=st.booleans(),
)
async def test_card_numbers_in_any_field_are_refused_and_leave_no_trace(
    db: str,
    number: str,
    separator: str,
    before: str,
    after: str,
    target: tuple[str, bool, Callable[[Any], dict[str, Any]]],
    as_json_number: bool,
) -> None:
    await _household()
    document, staff, build = target
    value: Any = int(number) if as_json_number else before + formatted(number, separator) + after
    email = "billing@example.org" if staff else "alex@example.org"

    with every_log_line() as logs:
        result = await execute(
            document, as_email=email, staff=staff, variables={"input": build(value)}
        )

    answer = json.dumps({"data": result.data, "errors": [e.formatted for e in result.errors or []]})
    assert number not in _digits_only(answer), answer
    if result.errors is None:
        assert result.data is not None
        [payload] = result.data.values()
        assert payload[next(k for k in payload if k != "errors")] is None
        assert [e["code"] for e in payload["errors"]] == ["CARD_NUMBER_NOT_ACCEPTED"]
    stored = json.dumps(await snapshot(), default=str)
    assert number not in _digits_only(stored)
    assert number not in _digits_only("\n".join(logs))


@pytest.mark.parametrize(
    "document",
    [
        'mutation { addPaymentMethod(input: {card: {token: "4242424242424242"}, nickname: 5})'
        " { errors { code } } }",
        '{ bills(first: "4242 4242 4242 4242") { totalCount } }',
        '{ bills(after: "4242424242424242") { totalCount } }',
    ],
)
async def test_a_card_number_written_in_the_document_is_neither_logged_nor_echoed(
    db: str, document: str
) -> None:
    await _household()

    with every_log_line() as logs:
        result = await execute(document, as_email="alex@example.org")

    assert result.errors is not None
    answer = json.dumps([e.formatted for e in result.errors])
    assert "4242424242424242" not in _digits_only(answer), answer
    assert any("strawberry.execution" in line for line in logs)  # the error was logged
    assert "4242424242424242" not in _digits_only("\n".join(logs))


async def test_the_fuzz_log_capture_sees_sql_with_its_values(db: str) -> None:
    with every_log_line() as logs:
        await factories.member("logged@example.org")
    assert any("logged@example.org" in line for line in logs)


BANK = (
    '{routingNumber: "110000000", accountNumber: "000123456789", accountType: CHECKING, '
    'holderName: "Alex Rivera"}'
)
ADD_AS_I = (
    "mutation($i: AddPaymentMethodInput!) { addPaymentMethod(input: $i) { errors { code } } }"
)


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (
            f"mutation {{ addPaymentMethod(input: {{bankAccount: {BANK}}}) "
            "{ paymentMethod { idd } } }",
            None,
        ),
        (
            ADD,
            {
                "input": {
                    "bankAccount": {
                        "routingNumber": "110000000",
                        "accountNumber": 123456789,
                        "accountType": "CHECKING",
                        "holderName": "Alex Rivera",
                    }
                }
            },
        ),
    ],
)
async def test_a_bank_account_number_in_a_refused_request_is_not_logged(
    db: str, document: str, variables: dict[str, Any] | None
) -> None:
    await _household()

    with every_log_line() as logs:
        result = await execute(document, as_email="alex@example.org", variables=variables)

    assert result.errors is not None
    assert any("strawberry.execution" in line for line in logs)  # the error was logged
    logged = "\n".join(logs)
    assert "123456789" not in logged, logged


@pytest.mark.parametrize("gap", ["\t", "\n", "\u00a0", "\u200b", "  ", "/"])
async def test_a_card_number_in_a_value_of_the_wrong_type_is_not_echoed(db: str, gap: str) -> None:
    await _household()
    number = gap.join(["4242"] * 4)
    variables = {"input": {"card": {"token": "tok_visa"}, "makeDefault": number}}

    with every_log_line() as logs:
        result = await execute(ADD, as_email="alex@example.org", variables=variables)

    assert result.errors is not None
    answer = json.dumps([e.formatted for e in result.errors])
    assert "4242" not in answer, answer
    assert "4242" not in "\n".join(logs)
