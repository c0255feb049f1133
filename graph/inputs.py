"""Filter inputs, and their translation into resolver filters (IDs decoded here)."""

import datetime
from enum import Enum
from typing import TypeVar

import strawberry

from graph.ids import NO_ROW, decode_id
from graph.types.common import BillStatus, PaymentStatus
from resolvers.bills import BillFilter as BillQuery
from resolvers.errors import NotFound
from resolvers.history import PaymentFilter as PaymentQuery

S = TypeVar("S", bound=Enum)


def _ids(global_ids: list[strawberry.ID] | None, type_name: str) -> tuple[int, ...] | None:
    if global_ids is None:
        return None
    out = []
    for gid in global_ids:
        try:
            out.append(decode_id(gid, type_name))
        except NotFound:  # a malformed ID filters as an unknown one: it matches nothing
            out.append(NO_ROW)
    return tuple(out)


def _distinct(statuses: list[S] | None) -> tuple[S, ...] | None:
    # Each status once: a list of any length (variables escape the query token limit)
    # becomes at most one condition per status.
    return tuple(dict.fromkeys(statuses)) if statuses else None


@strawberry.input(name="BillFilter", description="Narrow a list of bills.")
class BillFilterInput:
    account_id: strawberry.ID | None = None
    status: list[BillStatus] | None = None
    due_on_or_after: datetime.date | None = None
    due_on_or_before: datetime.date | None = None

    def to_query(self, *, nested: bool = False) -> BillQuery:
        """The resolver filter; a list nested under an account ignores `accountId`."""
        accounts = _ids([self.account_id], "BillingAccount") if self.account_id else None
        if nested:
            accounts = None
        return BillQuery(
            account_ids=accounts,
            statuses=_distinct(self.status),
            due_on_or_after=self.due_on_or_after,
            due_on_or_before=self.due_on_or_before,
        )


@strawberry.input(name="PaymentFilter", description="Narrow the payment history.")
class PaymentFilterInput:
    account_id: strawberry.ID | None = None
    bill_id: strawberry.ID | None = None
    status: list[PaymentStatus] | None = None
    created_after: datetime.datetime | None = None
    created_before: datetime.datetime | None = None

    def to_query(self, account_id: int | None = None) -> PaymentQuery:
        """The resolver filter; `account_id` pins a nested list to its account."""
        accounts = _ids([self.account_id], "BillingAccount") if self.account_id else None
        if account_id is not None:
            accounts = (account_id,)
        return PaymentQuery(
            account_ids=accounts,
            bill_ids=_ids([self.bill_id], "Bill") if self.bill_id else None,
            statuses=_distinct(self.status),
            created_after=self.created_after,
            created_before=self.created_before,
        )
