"""Notification: a confirmation or reminder for the viewer."""

import datetime

import strawberry

import models
from graph.context import Info
from graph.types.account import BillingAccount
from graph.types.bill import Bill
from graph.types.common import Money, Node, NotificationKind
from resolvers.pagination import BY_ID


@strawberry.type(description="A payment confirmation or a reminder.")
class Notification(Node):
    model: strawberry.Private[models.Notification]

    @strawberry.field(
        description="Resume point for `notifications(after:)` and `reminders(after:)`."
    )
    def cursor(self) -> str:
        return BY_ID.cursor(self.model)

    @strawberry.field
    def kind(self) -> NotificationKind:
        return self.model.kind

    @strawberry.field
    def message(self) -> str:
        return self.model.message

    @strawberry.field
    async def bill(self, info: Info) -> Bill | None:
        if self.model.bill_id is None:
            return None
        found = await info.context.loaders.bill.load(self.model.bill_id)
        # A notice outlives access to its account (a revoked proxy): show what it links to
        # only while the viewer may still see that account.
        if found is None or not info.context.require_viewer().can_see(found.account_id):
            return None
        return Bill(model=found)

    @strawberry.field
    async def account(self, info: Info) -> BillingAccount | None:
        if self.model.account_id is None:
            return None
        found = await info.context.loaders.account.load(self.model.account_id)
        if found is None or not info.context.require_viewer().can_see(found.id):
            return None
        return BillingAccount(model=found)

    @strawberry.field
    def amount(self) -> Money | None:
        if self.model.amount is None:
            return None
        return Money.of(self.model.amount, self.model.currency)

    @strawberry.field
    def created_at(self) -> datetime.datetime:
        return self.model.created_at

    @strawberry.field
    def read_at(self) -> datetime.datetime | None:
        return self.model.read_at
