"""Payment history: one payment, filtered lists, and batches for DataLoaders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from models import Payment
from models.enums import PaymentStatus
from resolvers.access import Viewer
from resolvers.errors import InvalidInput, NotFound
from resolvers.pagination import BY_CREATED_AT, Page, paginate
from resolvers.visibility import visible_account_ids


@dataclass(frozen=True)
class PaymentFilter:
    """Which payments to list; every part is optional."""

    account_ids: tuple[int, ...] | None = None
    bill_ids: tuple[int, ...] | None = None
    statuses: tuple[PaymentStatus, ...] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    def q(self) -> Q:
        """The filter as a query condition (account scoping is separate)."""
        if self.created_after and self.created_before and self.created_after > self.created_before:
            raise InvalidInput("createdAfter must not be later than createdBefore")
        condition = Q()
        if self.bill_ids is not None:
            condition &= Q(bill_id__in=list(self.bill_ids))
        if self.statuses:
            condition &= Q(status__in=list(self.statuses))
        if self.created_after:
            condition &= Q(created_at__gte=self.created_after)
        if self.created_before:
            condition &= Q(created_at__lt=self.created_before)
        return condition


async def get_payment(viewer: Viewer, payment_id: int) -> Payment:
    """A payment on an account the viewer may see; NotFound otherwise."""
    payment = await Payment.get_or_none(id=payment_id)
    if payment is None or not viewer.can_see(payment.account_id):
        raise NotFound("payment")
    return payment


async def list_payments(
    viewer: Viewer, flt: PaymentFilter, *, first: int | None, after: str | None
) -> Page[Payment]:
    """Payments across the viewer's accounts, newest first."""
    requested = list(flt.account_ids) if flt.account_ids is not None else None
    account_ids = visible_account_ids(viewer, requested)
    query = Payment.filter(flt.q())
    if account_ids is not None:
        query = query.filter(account_id__in=account_ids)
    return await paginate(query, BY_CREATED_AT, first=first, after=after)


async def payments_for_bills(bill_ids: Sequence[int]) -> list[list[Payment]]:
    """Each bill's payments, newest first, in one query."""
    grouped: dict[int, list[Payment]] = defaultdict(list)
    query = Payment.filter(bill_id__in=list(bill_ids)).order_by("-created_at", "-id")
    for payment in await query:
        grouped[payment.bill_id].append(payment)
    return [grouped[b] for b in bill_ids]


async def payments_by_ids(ids: Sequence[int]) -> list[Payment | None]:
    """Payments by id in one query, None where missing."""
    found = {p.id: p for p in await Payment.filter(id__in=list(ids))}
    return [found.get(i) for i in ids]
