"""Payment: one attempt to pay a bill."""

import datetime

import strawberry

import models
from graph.context import Info
from graph.types.account import BillingAccount
from graph.types.bill import Bill
from graph.types.common import Money, Node, PaymentKind, PaymentSource, PaymentStatus, present
from graph.types.member import Member
from graph.types.method import PaymentMethod


@strawberry.type(description="A payment toward a bill, with its status and receipt.")
class Payment(Node):
    model: strawberry.Private[models.Payment]

    @strawberry.field(description="Set once the payment succeeded; quote it to the billing office.")
    def confirmation_number(self) -> str | None:
        return self.model.confirmation_number

    @strawberry.field
    def amount(self) -> Money:
        return Money.of(self.model.amount, self.model.currency)

    @strawberry.field
    def amount_refunded(self) -> Money:
        return Money.of(self.model.amount_refunded, self.model.currency)

    @strawberry.field
    def status(self) -> PaymentStatus:
        return self.model.status

    @strawberry.field
    def kind(self) -> PaymentKind:
        return self.model.kind

    @strawberry.field
    def source(self) -> PaymentSource:
        return self.model.source

    @strawberry.field
    async def bill(self, info: Info) -> Bill:
        return Bill(model=present(await info.context.loaders.bill.load(self.model.bill_id)))

    @strawberry.field
    async def account(self, info: Info) -> BillingAccount:
        return BillingAccount(
            model=present(await info.context.loaders.account.load(self.model.account_id))
        )

    @strawberry.field(description="The member who made the payment.")
    async def member(self, info: Info) -> Member:
        return Member(model=present(await info.context.loaders.member.load(self.model.member_id)))

    @strawberry.field(description="The method used, shown to its owner and to staff.")
    async def method(self, info: Info) -> PaymentMethod | None:
        viewer = info.context.require_viewer()
        if self.model.method_id is None:
            return None
        found = await info.context.loaders.method.load(self.model.method_id)
        if found is None or (not viewer.can_see_member(found.member_id)):
            return None
        return PaymentMethod(model=found)

    @strawberry.field
    def created_at(self) -> datetime.datetime:
        return self.model.created_at

    @strawberry.field
    def settled_at(self) -> datetime.datetime | None:
        return self.model.settled_at

    @strawberry.field
    def failure_code(self) -> str | None:
        return self.model.failure_code

    @strawberry.field
    def failure_message(self) -> str | None:
        return self.model.failure_message
