"""A server stopped under payBill load loses no payment and takes none twice.

16 connections pay one bill with a new key per request while the server is stopped
(SIGTERM, as a deploy does). uvicorn answers every request it has read before the app
shuts down; a request sent as the server stops is never read, and its client, which
heard nothing, retries it with the same key against the restarted server. In the end
each key has exactly one payment and one processor charge, and the bill's ledger is
exact. (Requests whose callers left, cut off at shutdown: tests/test_shutdown.py and
tests/resolvers/test_caller_leaves.py.)
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from graph.ids import decode_id, to_global_id
from models import Bill, IdempotencyRecord, Payment, SandboxCharge
from models.enums import PaymentStatus
from resolvers.payment_reserve import OPERATION
from resolvers.settlement import reconcile
from tests import factories
from tests.e2e.clients import PAY
from tests.e2e.server import ServerProcess
from tests.ledger import assert_ledger

pytestmark = pytest.mark.e2e
CONNECTIONS = 16
ANSWERED_FIRST = 20  # payments answered before the stop


@pytest.fixture
def server(db: str) -> Iterator[ServerProcess]:
    with ServerProcess(db, migrate=False) as running:
        yield running
    assert "Traceback" not in running.log(), running.log()


class Payer:
    """Pays 1.00 with a new key per request until the server goes away."""

    def __init__(self, server: ServerProcess, bill_id: str, method_id: str) -> None:
        self.server = server
        self.bill_id = bill_id
        self.method_id = method_id
        self.paid: dict[str, int] = {}  # key -> payment id, answered SUCCEEDED
        self.unknown: list[str] = []  # keys sent whose answer never came
        self.under_load = asyncio.Event()  # set once ANSWERED_FIRST payments are answered

    async def pay(self, client: httpx.AsyncClient, key: str) -> dict[str, object]:
        variables = {
            "input": {
                "billId": self.bill_id,
                "amount": "1.00",
                "paymentMethodId": self.method_id,
                "idempotencyKey": key,
            }
        }
        response = await client.post(
            self.server.graphql_url,
            json={"query": PAY, "variables": variables},
            headers=self.server.auth("alex@example.org"),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        result: dict[str, object] = body["data"]["payBill"]
        return result

    async def connection(self, index: int) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            for n in range(10_000):
                key = f"c{index}-{n}"
                try:
                    result = await self.pay(client, key)
                except httpx.TransportError:
                    self.unknown.append(key)
                    return
                assert result["errors"] == [], result
                payment = result["payment"]
                assert isinstance(payment, dict) and payment["status"] == "SUCCEEDED", result
                self.paid[key] = decode_id(str(payment["id"]), "Payment")
                if len(self.paid) >= ANSWERED_FIRST:
                    self.under_load.set()


async def test_a_server_stopped_under_payment_load_loses_no_payment(
    server: ServerProcess,
) -> None:
    alex = await factories.member("alex@example.org")
    bill = await factories.bill(await factories.account(alex), due=10**9)
    card = await factories.card(alex)
    payer = Payer(server, to_global_id("Bill", bill.id), to_global_id("PaymentMethod", card.id))

    load = asyncio.gather(*(payer.connection(i) for i in range(CONNECTIONS)))
    await asyncio.wait_for(payer.under_load.wait(), timeout=30)
    process = server.process
    assert process is not None
    await asyncio.to_thread(server.stop, timeout=30)
    # It shut down by itself (uvicorn re-raises the SIGTERM once done), not SIGKILLed.
    assert process.returncode == -signal.SIGTERM, server.log()
    await asyncio.wait_for(load, timeout=30)
    assert "cutting off" not in server.log(), server.log()

    # Whatever the stop left half-done, the reconciler finishes.
    await reconcile(datetime.now(UTC) + timedelta(minutes=10))
    assert not await Payment.filter(status=PaymentStatus.PENDING).exists()
    recorded = await _payment_of_key()
    assert {key: recorded.get(key) for key in payer.paid} == payer.paid

    # A client that never heard back retries with the same key.
    server.start()
    async with httpx.AsyncClient(timeout=30) as client:
        for key in payer.unknown:
            result = await payer.pay(client, key)
            assert result["errors"] == [], result

    payment_of_key = await _payment_of_key()
    assert set(payment_of_key) == set(payer.paid) | set(payer.unknown)
    payments = await Payment.all()
    assert sorted(p.id for p in payments) == sorted(payment_of_key.values())  # one per key
    assert all(p.status is PaymentStatus.SUCCEEDED for p in payments)
    assert await SandboxCharge.all().count() == len(payments)
    fresh = await Bill.get(id=bill.id)
    assert fresh.amount_paid == 100 * len(payments) and fresh.amount_pending == 0
    await assert_ledger()


async def _payment_of_key() -> dict[str, int]:
    records = await IdempotencyRecord.filter(operation=OPERATION)
    return {r.key: int(str((r.response or {})["payment_id"])) for r in records}
