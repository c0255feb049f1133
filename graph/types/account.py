"""BillingAccount."""

from typing import TYPE_CHECKING, Annotated

import strawberry

import models
from graph.context import Info
from graph.inputs import BillFilterInput, PaymentFilterInput
from graph.types.common import AccessRole, AccountKind, AccountStatus, Connection, Money, Node
from resolvers.bills import AccountBillsKey
from resolvers.history import list_payments

if TYPE_CHECKING:
    from graph.types.autopay import AutopayEnrollment
    from graph.types.bill import Bill
    from graph.types.payment import Payment


@strawberry.type(description="A provider account whose statements the viewer may see.")
class BillingAccount(Node):
    model: strawberry.Private[models.BillingAccount]

    @strawberry.field
    def account_number(self) -> str:
        return str(self.model.account_number)

    @strawberry.field
    def kind(self) -> AccountKind:
        return self.model.kind

    @strawberry.field
    def provider_name(self) -> str:
        return str(self.model.provider_name)

    @strawberry.field
    def status(self) -> AccountStatus:
        return self.model.status

    @strawberry.field(description="The viewer's relation to the account; null for staff.")
    def access_role(self, info: Info) -> AccessRole | None:
        access = info.context.require_viewer().access
        return None if access is None else access.get(self.model.id)

    @strawberry.field(description="What is owed on open statements.")
    async def balance(self, info: Info) -> Money:
        balance = await info.context.loaders.balance.load(self.model.id)
        return Money.of(balance.due, self.model.currency)

    @strawberry.field(description="Payments on their way (ACH processing, card pending).")
    async def pending_balance(self, info: Info) -> Money:
        balance = await info.context.loaders.balance.load(self.model.id)
        return Money.of(balance.pending, self.model.currency)

    @strawberry.field(description="Statements, newest first.")
    async def bills(
        self,
        info: Info,
        filter: BillFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated["Bill", strawberry.lazy("graph.types.bill")]]:
        from graph.types.bill import Bill

        flt = (filter or BillFilterInput()).to_query(nested=True)
        key = AccountBillsKey(account_id=self.model.id, flt=flt, first=first, after=after)
        page = await info.context.loaders.bills_of_account.load(key)
        return await Bill.connection(info, page)

    @strawberry.field(description="Payment history of this account, newest first.")
    async def payments(
        self,
        info: Info,
        filter: PaymentFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated["Payment", strawberry.lazy("graph.types.payment")]]:
        from graph.types.payment import Payment

        flt = (filter or PaymentFilterInput()).to_query(account_id=self.model.id)
        page = await list_payments(info.context.require_viewer(), flt, first=first, after=after)
        return Connection.of(page, lambda p: Payment(model=p))

    @strawberry.field
    async def autopay(
        self, info: Info
    ) -> Annotated["AutopayEnrollment", strawberry.lazy("graph.types.autopay")] | None:
        from graph.types.autopay import AutopayEnrollment

        found = await info.context.loaders.autopay.load(self.model.id)
        return None if found is None else AutopayEnrollment(model=found)
