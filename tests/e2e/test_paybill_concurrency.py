"""payBill under real concurrency: client OS processes against real server processes."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from graph.ids import to_global_id
from models import Bill, Payment, SandboxCharge
from models.enums import PaymentStatus
from tests import factories
from tests.e2e.clients import Batch, send_from_processes
from tests.e2e.server import ServerProcess
from tests.ledger import assert_ledger

pytestmark = pytest.mark.e2e
CLIENT_PROCESSES = 4


@pytest.fixture
def server(db: str) -> Iterator[ServerProcess]:
    with ServerProcess(db, migrate=False) as running:
        yield running
    assert "Traceback" not in running.log(), running.log()


def _split(inputs: list[dict[str, Any]], urls: list[str], headers: dict[str, str]) -> list[Batch]:
    random.Random(7).shuffle(inputs)
    return [
        Batch(urls=tuple(urls), headers=headers, inputs=inputs[n::CLIENT_PROCESSES])
        for n in range(CLIENT_PROCESSES)
    ]


async def _fire(batches: list[Batch]) -> list[dict[str, Any]]:
    answers = await asyncio.to_thread(send_from_processes, batches)
    bad = [a for a in answers if a["status"] != 200 or "errors" in a["body"]]
    assert not bad, bad[:3]
    return [dict(a, result=a["body"]["data"]["payBill"]) for a in answers]


async def _household(*dues: int) -> tuple[list[Bill], str]:
    alex = await factories.member("alex@example.org")
    acct = await factories.account(alex)
    bills = [await factories.bill(acct, due=due) for due in dues]
    card = await factories.card(alex)
    return bills, to_global_id("PaymentMethod", card.id)


async def test_200_calls_from_4_processes_with_20_keys_make_exactly_20_payments(
    server: ServerProcess,
) -> None:
    bills, method_id = await _household(100_000, 100_000)
    inputs = []
    for key in range(20):
        bill = bills[key % 2]
        amount = f"{10 + key}.{key:02d}"  # distinct, to the cent: 10.00, 11.01, ...
        for _ in range(10):
            inputs.append(
                {
                    "billId": to_global_id("Bill", bill.id),
                    "amount": amount,
                    "paymentMethodId": method_id,
                    "idempotencyKey": f"key-{key}",
                }
            )

    answers = await _fire(_split(inputs, [server.graphql_url], server.auth("alex@example.org")))

    assert len(answers) == 200
    payment_of_key: dict[str, set[str]] = defaultdict(set)
    for answer in answers:
        codes = [e["code"] for e in answer["result"]["errors"]]
        assert codes in ([], ["PAYMENT_IN_PROGRESS"]), answer
        if not codes:
            assert answer["result"]["payment"]["status"] == "SUCCEEDED"
            assert answer["result"]["payment"]["amount"]["amount"] == answer["input"]["amount"]
            payment_of_key[answer["input"]["idempotencyKey"]].add(answer["result"]["payment"]["id"])
    assert all(len(ids) == 1 for ids in payment_of_key.values())
    assert await Payment.all().count() == 20
    assert await SandboxCharge.all().count() == 20
    expected = [sum(1000 + 101 * k for k in range(20) if k % 2 == side) for side in (0, 1)]
    for bill, paid in zip(bills, expected, strict=True):
        fresh = await Bill.get(id=bill.id)
        assert (fresh.amount_paid, fresh.amount_pending, fresh.amount_due) == (
            paid,
            0,
            100_000 - paid,
        )
    await assert_ledger()


async def test_ten_concurrent_payments_of_30_on_100_due_over_http(server: ServerProcess) -> None:
    [bill], method_id = await _household(10_000)
    inputs = [
        {
            "billId": to_global_id("Bill", bill.id),
            "amount": "30.00",
            "paymentMethodId": method_id,
            "idempotencyKey": f"thirty-{n}",
        }
        for n in range(10)
    ]

    answers = await _fire(_split(inputs, [server.graphql_url], server.auth("alex@example.org")))

    codes = sorted(tuple(e["code"] for e in a["result"]["errors"]) for a in answers)
    assert codes == [()] * 3 + [("AMOUNT_EXCEEDS_BALANCE",)] * 7
    fresh = await Bill.get(id=bill.id)
    assert (fresh.amount_due, fresh.amount_paid) == (1_000, 9_000)
    assert await Payment.filter(status=PaymentStatus.SUCCEEDED).count() == 3
    await assert_ledger()


async def test_two_server_processes_on_one_database_never_overpay(db: str) -> None:
    [bill], method_id = await _household(10_000)
    with ServerProcess(db, migrate=False) as one, ServerProcess(db, migrate=False) as two:
        inputs = []
        for n in range(20):
            # Distinct keys race for the balance; each key is also sent twice.
            for _ in range(2):
                inputs.append(
                    {
                        "billId": to_global_id("Bill", bill.id),
                        "amount": "30.00",
                        "paymentMethodId": method_id,
                        "idempotencyKey": f"race-{n}",
                    }
                )
        urls = [one.graphql_url, two.graphql_url]
        answers = await _fire(_split(inputs, urls, one.auth("alex@example.org")))
    assert "Traceback" not in one.log() + two.log()

    succeeded = {a["result"]["payment"]["id"] for a in answers if not a["result"]["errors"]}
    assert len(succeeded) == 3
    fresh = await Bill.get(id=bill.id)
    assert (fresh.amount_due, fresh.amount_paid, fresh.amount_pending) == (1_000, 9_000, 0)
    assert await Payment.all().count() == 3
    assert await SandboxCharge.all().count() == 3
    await assert_ledger()


async def test_two_servers_paying_several_bills_at_once_never_deadlock_or_overpay(db: str) -> None:
    """Batches in two processes touch the same bills, in every order: none may fail."""
    bills, method_id = await _household(50_000, 50_000, 50_000)
    inputs = [
        {
            "billId": to_global_id("Bill", bills[n % 3].id),
            "amount": "10.00",
            "paymentMethodId": method_id,
            "idempotencyKey": f"spread-{n}",
        }
        for n in range(120)
    ]
    with ServerProcess(db, migrate=False) as one, ServerProcess(db, migrate=False) as two:
        urls = [one.graphql_url, two.graphql_url]
        answers = await _fire(_split(inputs, urls, one.auth("alex@example.org")))
    assert "Traceback" not in one.log() + two.log()

    assert all(not a["result"]["errors"] for a in answers)
    for bill in await Bill.all():
        assert (bill.amount_due, bill.amount_paid, bill.amount_pending) == (10_000, 40_000, 0)
    assert await Payment.filter(status=PaymentStatus.SUCCEEDED).count() == 120
    assert await SandboxCharge.all().count() == 120
    await assert_ledger()
