"""Money, the Node interface, Relay connections and the domain enums."""

from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any, Generic, TypeAlias, TypeVar

import strawberry

from graph.ids import to_global_id
from models import enums
from models.money import Money as DomainMoney
from resolvers.pagination import Page

# Exposed once from the domain enums; the aliases keep them usable as annotations.
_DESCRIPTIONS: dict[type[Enum], str | None] = {
    enums.BillStatus: "Where a statement stands.",
    enums.PaymentStatus: "Where a payment stands.",
    enums.PaymentKind: "The rail a payment travels on.",
    enums.PaymentSource: "What started a payment.",
    enums.PaymentMethodKind: None,
    enums.PaymentMethodStatus: None,
    enums.BankAccountType: None,
    enums.AccountKind: None,
    enums.AccountStatus: None,
    enums.AccessRole: "How the viewer relates to an account.",
    enums.Role: None,
    enums.NotificationKind: None,
    enums.AutopayStrategy: None,
    enums.AutopayStatus: None,
    enums.PaymentEventType: None,
    enums.PaymentErrorCode: None,
}
for _enum, _description in _DESCRIPTIONS.items():
    strawberry.enum(_enum, description=_description)

BillStatus: TypeAlias = enums.BillStatus
PaymentStatus: TypeAlias = enums.PaymentStatus
PaymentKind: TypeAlias = enums.PaymentKind
PaymentSource: TypeAlias = enums.PaymentSource
PaymentMethodKind: TypeAlias = enums.PaymentMethodKind
PaymentMethodStatus: TypeAlias = enums.PaymentMethodStatus
BankAccountType: TypeAlias = enums.BankAccountType
AccountKind: TypeAlias = enums.AccountKind
AccountStatus: TypeAlias = enums.AccountStatus
AccessRole: TypeAlias = enums.AccessRole
Role: TypeAlias = enums.Role
NotificationKind: TypeAlias = enums.NotificationKind
AutopayStrategy: TypeAlias = enums.AutopayStrategy
AutopayStatus: TypeAlias = enums.AutopayStatus
PaymentEventType: TypeAlias = enums.PaymentEventType
PaymentErrorCode: TypeAlias = enums.PaymentErrorCode


@strawberry.type(description="An exact amount of money.")
class Money:
    value: strawberry.Private[DomainMoney]

    @strawberry.field(description='Decimal string, e.g. "125.40".')
    def amount(self) -> Decimal:
        return self.value.decimal

    @strawberry.field(description="ISO-4217 currency code.")
    def currency(self) -> str:
        return self.value.currency

    @strawberry.field(description='For people, e.g. "$125.40".')
    def formatted(self) -> str:
        # Locale formatting is the costly part: done only when a client asks for it.
        return self.value.formatted

    @classmethod
    def of(cls, minor: int, currency: str) -> "Money":
        """Money from minor units."""
        return cls(value=DomainMoney(minor, currency))


@strawberry.interface(description="An object with an opaque global ID.")
class Node:
    model: strawberry.Private[Any]

    @strawberry.field(description="Opaque global ID, usable with `node(id:)`.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id(self.__strawberry_definition__.name, self.model.pk))  # type: ignore[attr-defined]


T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int = strawberry.field(description="How many items match, over all pages.")

    @classmethod
    def of(cls, page: Page[Any], wrap: Callable[[Any], T]) -> "Connection[T]":
        """A connection from a resolver page, wrapping each row as a GraphQL type."""
        return cls(
            edges=[
                Edge(cursor=c, node=wrap(r)) for r, c in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            total_count=page.total_count,
        )


def present(found: T | None) -> T:
    """A row a loader must find (its foreign key guarantees it); a bug if missing."""
    if found is None:
        raise LookupError("a referenced row is missing")
    return found
