"""The three servers the read benchmark compares, as uvicorn app factories.

- carepay: the real app (DataLoaders, parser and validation caches).
- naive:   the same schema with caches and DataLoaders switched off.
- plain:   a bare Starlette route that authenticates the same way, reads the same rows
           with the same batch queries and returns the same JSON bytes: the limit.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.clock import today
from app import create_app
from graph.auth import AuthError, authenticate
from graph.ids import to_global_id
from models.db import close_db, init_db
from models.ledger import bill_status
from models.money import Money
from resolvers.accounts import viewer_accounts
from resolvers.bills import AccountBillsKey, BillFilter, bills_for_accounts, line_items_for_bills
from resolvers.history import payments_for_bills
from settings import Settings

DASHBOARD = """
query Dashboard {
  viewer {
    id name
    accounts {
      id accountNumber
      bills(first: 20) {
        totalCount
        edges { node {
          id statementNumber dueDate status
          amountDue { amount currency formatted }
          lineItems { serviceDate code description charge { amount } patientAmount { amount } }
          payments { id status amount { amount currency } }
        } }
      }
    }
  }
}
"""


def carepay() -> Starlette:
    """The real app."""
    return create_app(Settings.from_env())


def naive() -> Starlette:
    """The same schema without caches or DataLoaders."""
    return create_app(Settings.from_env(), loaders=False, caches=False)


def _money(minor: int, currency: str, *fields: str) -> dict[str, Any]:
    value = Money(minor, currency)
    full = {
        "amount": lambda: str(value.decimal),
        "currency": lambda: currency,
        "formatted": lambda: value.formatted,
    }
    return {f: full[f]() for f in fields}


async def _dashboard(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    try:
        viewer = await authenticate(settings, request.headers.get("authorization"))
    except AuthError as exc:
        return Response(json.dumps({"errors": [{"message": str(exc)}]}), status_code=401)
    accounts = await viewer_accounts(viewer)
    pages = await bills_for_accounts(
        [AccountBillsKey(a.id, BillFilter(), 20, None) for a in accounts]
    )
    bill_ids = [b.id for page in pages for b in page.items]
    lines = dict(zip(bill_ids, await line_items_for_bills(bill_ids), strict=True))
    payments = dict(zip(bill_ids, await payments_for_bills(bill_ids), strict=True))
    day = today()
    data = {
        "viewer": {
            "id": to_global_id("Viewer", viewer.member.id),
            "name": viewer.member.name,
            "accounts": [
                {
                    "id": to_global_id("BillingAccount", account.id),
                    "accountNumber": account.account_number,
                    "bills": {
                        "totalCount": page.total_count,
                        "edges": [
                            {
                                "node": {
                                    "id": to_global_id("Bill", bill.id),
                                    "statementNumber": bill.statement_number,
                                    "dueDate": bill.due_date.isoformat(),
                                    "status": bill_status(bill, day).value,
                                    "amountDue": _money(
                                        bill.amount_due,
                                        bill.currency,
                                        "amount",
                                        "currency",
                                        "formatted",
                                    ),
                                    "lineItems": [
                                        {
                                            "serviceDate": item.service_date.isoformat(),
                                            "code": item.code,
                                            "description": item.description,
                                            "charge": _money(item.charge, bill.currency, "amount"),
                                            "patientAmount": _money(
                                                item.patient_amount, bill.currency, "amount"
                                            ),
                                        }
                                        for item in lines[bill.id]
                                    ],
                                    "payments": [
                                        {
                                            "id": to_global_id("Payment", p.id),
                                            "status": p.status.value,
                                            "amount": _money(
                                                p.amount, p.currency, "amount", "currency"
                                            ),
                                        }
                                        for p in payments[bill.id]
                                    ],
                                }
                            }
                            for bill in page.items
                        ],
                    },
                }
                for account, page in zip(accounts, pages, strict=True)
            ],
        }
    }
    body = json.dumps({"data": data}, separators=(",", ":"))
    return Response(body, media_type="application/json")


def plain() -> Starlette:
    """The limit: one hand-written route, same reads, same bytes."""
    settings = Settings.from_env()

    async def lifespan(_: Starlette) -> Any:
        await init_db(settings.database_url)
        yield
        await close_db()

    app = Starlette(
        routes=[Route("/graphql", _dashboard, methods=["POST"])],
        lifespan=lifespan,  # type: ignore[arg-type]
    )
    app.state.settings = settings
    return app
