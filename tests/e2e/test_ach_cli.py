"""ACH end to end: pay over HTTP, then settle or return with `carepay scheduler run-once --at`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from graph.ids import to_global_id
from models import Bill, Notification, Payment
from models.enums import BankAccountType, PaymentStatus
from resolvers.access import load_viewer
from resolvers.payment_methods import BankAccount, add_bank_account
from tests import factories
from tests.e2e.clients import PAY
from tests.e2e.server import ServerProcess, carepay
from tests.ledger import assert_ledger

pytestmark = pytest.mark.e2e


async def test_ach_payments_settle_or_return_through_the_scheduler_cli(db: str) -> None:
    alex = await factories.member("alex@example.org")
    acct = await factories.account(alex)
    bills = [await factories.bill(acct, due=20_000) for _ in range(2)]
    viewer = await load_viewer("alex@example.org", "member")
    assert viewer is not None
    methods = []
    for number in ("000123456789", "000111111116"):  # settles, returned R01
        bank = BankAccount("110000000", number, BankAccountType.CHECKING, "Alex Rivera")
        methods.append(await add_bank_account(viewer=viewer, account=bank))

    with ServerProcess(db, migrate=False) as server:
        client = httpx.AsyncClient(headers=server.auth("alex@example.org"))
        for bill, method in zip(bills, methods, strict=True):
            variables = {
                "input": {
                    "billId": to_global_id("Bill", bill.id),
                    "amount": "150.00",
                    "paymentMethodId": to_global_id("PaymentMethod", method.id),
                    "idempotencyKey": f"ach-{bill.id}",
                }
            }
            response = await client.post(
                server.graphql_url, json={"query": PAY, "variables": variables}
            )
            result = response.json()["data"]["payBill"]
            assert result["errors"] == [] and result["payment"]["status"] == "PROCESSING"
        await client.aclose()
        env = server.env
    assert "Traceback" not in server.log()

    now = datetime.now(UTC)
    early = carepay("scheduler", "run-once", "--at", now.isoformat(), env=env)
    assert "0 settled, 0 returned" in early
    assert await Payment.filter(status=PaymentStatus.PROCESSING).count() == 2

    later = now + timedelta(days=7)
    report = carepay("scheduler", "run-once", "--at", later.isoformat(), env=env)

    assert "1 settled, 1 returned" in report
    settled, returned = [await Payment.get(bill_id=bill.id) for bill in bills]
    assert settled.status is PaymentStatus.SUCCEEDED and settled.confirmation_number
    assert settled.settled_at == datetime.fromisoformat(later.isoformat())
    assert (returned.status, returned.failure_code) == (PaymentStatus.RETURNED, "ACH_RETURN_R01")
    fresh = [await Bill.get(id=bill.id) for bill in bills]
    assert [(b.amount_due, b.amount_paid, b.amount_pending) for b in fresh] == [
        (5_000, 15_000, 0),
        (20_000, 0, 0),
    ]
    assert await Notification.filter(payment_id=settled.id).count() == 1
    again = carepay("scheduler", "run-once", "--at", later.isoformat(), env=env)
    assert "0 settled, 0 returned" in again
    await assert_ledger()
