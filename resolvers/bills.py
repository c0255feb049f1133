"""Reading statements: one bill, filtered lists, and batches for DataLoaders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from tortoise.expressions import Q

from adapters.clock import today
from models import Bill, BillLineItem
from models.enums import BillStatus
from models.ledger import bill_status_q
from resolvers.access import Viewer
from resolvers.errors import InvalidInput, NotFound
from resolvers.pagination import BY_STATEMENT_DATE, Page, page_of, paginate
from resolvers.visibility import visible_account_ids


@dataclass(frozen=True)
class BillFilter:
    """Which bills to list; every part is optional."""

    account_ids: tuple[int, ...] | None = None
    statuses: tuple[BillStatus, ...] | None = None
    due_on_or_after: date | None = None
    due_on_or_before: date | None = None

    def q(self) -> Q:
        """The filter as a query condition (account scoping is separate)."""
        if (
            self.due_on_or_after
            and self.due_on_or_before
            and self.due_on_or_after > self.due_on_or_before
        ):
            raise InvalidInput("dueOnOrAfter must not be later than dueOnOrBefore")
        condition = Q()
        if self.statuses:
            day = today()
            status_q = Q()
            for status in self.statuses:
                status_q |= bill_status_q(status, day)
            condition &= status_q
        if self.due_on_or_after:
            condition &= Q(due_date__gte=self.due_on_or_after)
        if self.due_on_or_before:
            condition &= Q(due_date__lte=self.due_on_or_before)
        return condition


async def get_bill(viewer: Viewer, bill_id: int) -> Bill:
    """A bill the viewer may see; NotFound otherwise."""
    bill = await Bill.get_or_none(id=bill_id)
    if bill is None or not viewer.can_see(bill.account_id):
        raise NotFound("bill")
    return bill


async def list_bills(
    viewer: Viewer, flt: BillFilter, *, first: int | None, after: str | None
) -> Page[Bill]:
    """Bills across the viewer's accounts, newest statement first."""
    account_ids = visible_account_ids(
        viewer, list(flt.account_ids) if flt.account_ids is not None else None
    )
    query = Bill.filter(flt.q())
    if account_ids is not None:
        query = query.filter(account_id__in=account_ids)
    return await paginate(query, BY_STATEMENT_DATE, first=first, after=after)


@dataclass(frozen=True)
class AccountBillsKey:
    """One account's bills page, as asked for by a nested field."""

    account_id: int
    flt: BillFilter
    first: int | None
    after: str | None


async def bills_for_accounts(
    keys: Sequence[AccountBillsKey],
) -> list[Page[Bill] | InvalidInput]:
    """Pages of bills for many accounts: one query per distinct filter, not per account.
    A page that cannot be asked for (its filter, `first` or cursor) is its own
    InvalidInput, so that the other fields of the batch still load."""
    by_filter: dict[BillFilter, set[int]] = defaultdict(set)
    for key in keys:
        by_filter[key.flt].add(key.account_id)
    rows: dict[tuple[BillFilter, int], list[Bill]] = defaultdict(list)
    refused: dict[BillFilter, InvalidInput] = {}
    for flt, account_ids in by_filter.items():
        try:
            condition = flt.q()
        except InvalidInput as exc:
            refused[flt] = exc
            continue
        for bill in await Bill.filter(condition, account_id__in=sorted(account_ids)):
            rows[(flt, bill.account_id)].append(bill)
    pages: list[Page[Bill] | InvalidInput] = []
    for k in keys:
        if k.flt in refused:
            pages.append(refused[k.flt])
            continue
        try:
            found = rows[(k.flt, k.account_id)]
            pages.append(page_of(found, BY_STATEMENT_DATE, first=k.first, after=k.after))
        except InvalidInput as exc:
            pages.append(exc)
    return pages


async def bills_by_ids(ids: Sequence[int]) -> list[Bill | None]:
    """Bills by id in one query, None where missing (callers check visibility)."""
    found = {b.id: b for b in await Bill.filter(id__in=list(ids))}
    return [found.get(i) for i in ids]


async def line_items_for_bills(bill_ids: Sequence[int]) -> list[list[BillLineItem]]:
    """Each bill's line items, in statement order, in one query."""
    grouped: dict[int, list[BillLineItem]] = defaultdict(list)
    for item in await BillLineItem.filter(bill_id__in=list(bill_ids)).order_by("position", "id"):
        grouped[item.bill_id].append(item)
    return [grouped[b] for b in bill_ids]
