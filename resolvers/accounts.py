"""Reading billing accounts and their balances."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.functions import Sum

from models import Bill, BillingAccount
from resolvers.access import Viewer
from resolvers.errors import NotFound


@dataclass(frozen=True)
class Balance:
    """What is owed on an account, and what is on its way."""

    due: int
    pending: int


async def get_account(viewer: Viewer, account_id: int) -> BillingAccount:
    """An account the viewer may see; NotFound otherwise."""
    if not viewer.can_see(account_id):
        raise NotFound("account")
    account = await BillingAccount.get_or_none(id=account_id)
    if account is None:
        raise NotFound("account")
    return account


async def viewer_accounts(viewer: Viewer) -> list[BillingAccount]:
    """The accounts the viewer holds or has proxy access to (staff: none of their own)."""
    if viewer.access is None or not viewer.access:
        return []
    return await BillingAccount.filter(id__in=sorted(viewer.access)).order_by("id")


async def accounts_by_ids(ids: Sequence[int]) -> list[BillingAccount | None]:
    """Accounts by id in one query, None where missing."""
    found = {a.id: a for a in await BillingAccount.filter(id__in=list(ids))}
    return [found.get(i) for i in ids]


async def balances_for_accounts(ids: Sequence[int]) -> list[Balance]:
    """Each account's balance from its open (not voided) bills, in one query."""
    rows = (
        await Bill.filter(account_id__in=list(ids), voided_at__isnull=True)
        .annotate(due=Sum("amount_due"), pending=Sum("amount_pending"))
        .group_by("account_id")
        .values("account_id", "due", "pending")
    )
    found = {r["account_id"]: Balance(int(r["due"] or 0), int(r["pending"] or 0)) for r in rows}
    return [found.get(i, Balance(0, 0)) for i in ids]
