"""PaymentMethod: a saved card or bank account, as a person sees it."""

import strawberry

import models
from graph.types.common import BankAccountType, Node, PaymentMethodKind, PaymentMethodStatus


@strawberry.type(description="A saved card or bank account. Full numbers are never kept.")
class PaymentMethod(Node):
    model: strawberry.Private[models.PaymentMethod]

    @strawberry.field
    def kind(self) -> PaymentMethodKind:
        return self.model.kind

    @strawberry.field(description="Card brand, e.g. visa; null for bank accounts.")
    def brand(self) -> str | None:
        return self.model.brand

    @strawberry.field
    def last4(self) -> str:
        return str(self.model.last4)

    @strawberry.field
    def exp_month(self) -> int | None:
        return None if self.model.exp_month is None else int(self.model.exp_month)

    @strawberry.field
    def exp_year(self) -> int | None:
        return None if self.model.exp_year is None else int(self.model.exp_year)

    @strawberry.field
    def bank_name(self) -> str | None:
        return self.model.bank_name

    @strawberry.field
    def account_type(self) -> BankAccountType | None:
        return self.model.account_type

    @strawberry.field
    def nickname(self) -> str | None:
        return self.model.nickname

    @strawberry.field
    def is_default(self) -> bool:
        return bool(self.model.is_default)

    @strawberry.field
    def status(self) -> PaymentMethodStatus:
        return self.model.status
