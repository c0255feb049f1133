"""Filter inputs, and their translation into resolver filters (IDs decoded here)."""

import datetime
from enum import Enum
from typing import TypeVar

import strawberry

from graph.ids import decode_id
from graph.types.common import BillStatus, PaymentStatus
from resolvers.bills import BillFilter as BillQuery
from resolvers.errors import InvalidInput, NotFound
from resolvers.history import PaymentFilter as PaymentQuery

S = TypeVar("S", bound=Enum)


def _id(global_id: strawberry.ID | None, type_name: str, name: str) -> tuple[int] | None:
    """A filter's ID as the one id it keeps; one that names no row of ours matches nothing,
    but one that is not an ID of this type at all is refused."""
    if global_id is None:
        return None
    try:
        return (decode_id(global_id, type_name),)
    except NotFound:
        raise InvalidInput(f"`filter.{name}` is not a {type_name} ID") from None


def _distinct(statuses: list[S] | None) -> tuple[S, ...] | None:
    # Each status once: a list of any length (variables escape the query token limit)
    # becomes at most one condition per status.
    if statuses is None:
        return None
    if not statuses:
        raise InvalidInput("`filter.status` is empty: name at least one, or leave it out")
    return tuple(dict.fromkeys(statuses))


@strawberry.input(name="BillFilter", description="Narrow a list of bills.")
class BillFilterInput:
    account_id: strawberry.ID | None = None
    status: list[BillStatus] | None = None
    due_on_or_after: datetime.date | None = None
    due_on_or_before: datetime.date | None = None

    def to_query(self, *, nested: bool = False) -> BillQuery:
        """The resolver filter; a list nested under an account ignores `accountId`."""
        return BillQuery(
            account_ids=None if nested else _id(self.account_id, "BillingAccount", "accountId"),
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
        accounts = _id(self.account_id, "BillingAccount", "accountId")
        return PaymentQuery(
            account_ids=accounts if account_id is None else (account_id,),
            bill_ids=_id(self.bill_id, "Bill", "billId"),
            statuses=_distinct(self.status),
            created_after=self.created_after,
            created_before=self.created_before,
        )
