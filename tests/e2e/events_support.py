"""Shared set-up for the live-event end-to-end tests: a household and real payBill calls."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from graph.ids import to_global_id
from models.enums import AccessRole
from tests import factories
from tests.e2e.server import ServerProcess

PAY = """
mutation Pay($input: PayBillInput!) {
  payBill(input: $input) { payment { id status } errors { code message } }
}
"""
PAYMENT_EVENTS = """
subscription Events($after: String) {
  paymentEvents(after: $after) { cursor type status payment { id amount { amount } } }
}
"""
STATUS_FEED = """
subscription Feed($after: String) {
  paymentStatusFeed(after: $after) { cursor type payment { id } }
}
"""
# Any environment the event tests' servers share: a fast relay.
EVENTS_ENV = {"CAREPAY_RELAY_INTERVAL_MS": "20"}


@dataclass(frozen=True)
class Payer:
    """A member with a bill large enough for many payments and a saved card."""

    email: str
    bill_id: str
    method_id: str


_REFUSALS = (
    "graphql.error.graphql_error.GraphQLError: ",
    "strawberry.schema.exceptions.CannotGetOperationTypeError: ",
)


def unexpected_errors(log: str) -> list[str]:
    """Log records with a traceback, leaving out Strawberry's report of a refused subscription.

    A refusal (FORBIDDEN, NOT_FOUND, ...) is raised as a coded GraphQLError, and an
    operationName the document does not hold as CannotGetOperationTypeError; Strawberry
    logs both with their tracebacks. Anything else ending a traceback is a bug.
    """
    records: list[list[str]] = []
    for line in log.splitlines():
        if (
            line.split(":", 1)[0] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
            or not records
        ):
            records.append([line])
        else:
            records[-1].append(line)
    return [
        "\n".join(record)
        for record in records
        if any("Traceback" in line for line in record) and not record[-1].startswith(_REFUSALS)
    ]


async def household() -> dict[str, Payer]:
    """Alex (guarantor), Sam (proxy on Alex's account), Jordan (own account), staff."""
    payers = {}
    alex = await factories.member("alex@example.org", name="Alex Rivera")
    sam = await factories.member("sam@example.org", name="Sam Rivera")
    jordan = await factories.member("jordan@example.org", name="Jordan Lee")
    await factories.member("billing@example.org", name="Billing Office", staff=True)
    alex_account = await factories.account(alex)
    await factories.grant(sam, alex_account, AccessRole.PROXY_PAY)
    for name, member, account in (
        ("alex", alex, alex_account),
        ("jordan", jordan, await factories.account(jordan)),
    ):
        bill = await factories.bill(account, due=10_000_000)
        card = await factories.card(member)
        payers[name] = Payer(
            email=member.email,
            bill_id=to_global_id("Bill", bill.id),
            method_id=to_global_id("PaymentMethod", card.id),
        )
    return payers


async def pay(
    client: httpx.AsyncClient, server: ServerProcess, payer: Payer, amount: str = "1.00"
) -> dict[str, Any]:
    """Pay through the server's HTTP API; the payment (id, status) and when the answer came."""
    variables = {
        "input": {
            "billId": payer.bill_id,
            "amount": amount,
            "paymentMethodId": payer.method_id,
            "idempotencyKey": factories.fresh_key("e2e-events-"),
        }
    }
    response = await client.post(
        server.graphql_url,
        json={"query": PAY, "variables": variables},
        headers=server.auth(payer.email),
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    result = body["data"]["payBill"]
    assert result["errors"] == [], result
    return {**result["payment"], "answered_at": time.monotonic()}


@contextmanager
def events_server(db: str, **env: str) -> Iterator[ServerProcess]:
    """A server for event tests (a fast relay, and `env` on top) that must log no error."""
    with ServerProcess(db, migrate=False, env={**EVENTS_ENV, **env}) as running:
        yield running
    assert unexpected_errors(running.log()) == []
