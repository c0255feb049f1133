"""AutopayEnrollment and its next run."""

import datetime

import strawberry

import models
from adapters.clock import today
from graph.context import Info
from graph.types.account import BillingAccount
from graph.types.bill import Bill
from graph.types.common import AutopayStatus, AutopayStrategy, Money, Node, present
from graph.types.method import PaymentMethod
from models import enums
from resolvers.access import Viewer
from resolvers.autopay_plan import PlannedCharge, next_run

strawberry.enum(enums.AutopaySkipReason, description="Why autopay would leave a bill alone.")
AutopaySkipReason = enums.AutopaySkipReason


def _shown_method(viewer: Viewer, method: models.PaymentMethod | None) -> PaymentMethod | None:
    """A method is shown to its owner and to staff only."""
    if method is None or (not viewer.can_see_member(method.member_id)):
        return None
    return PaymentMethod(model=method)


@strawberry.type(description="What autopay will do next: which bill, when, how much, with what.")
class AutopayNextRun:
    run: strawberry.Private[PlannedCharge]

    @strawberry.field(description="The day the charge runs (its business day, or today).")
    def date(self) -> datetime.date:
        return self.run.run_date

    @strawberry.field(description="The lesser of the strategy's amount, the cap and what is due.")
    def amount(self) -> Money:
        return Money.of(self.run.amount, self.run.bill.currency)

    @strawberry.field(description="The method charged; shown to its owner and to staff.")
    def method(self, info: Info) -> PaymentMethod | None:
        return _shown_method(info.context.require_viewer(), self.run.method)

    @strawberry.field(description="The statement the run pays.")
    def bill(self) -> Bill:
        return Bill(model=self.run.bill)

    @strawberry.field(description="Why the run would be skipped; null when it will charge.")
    def skip_reason(self) -> AutopaySkipReason | None:
        return self.run.skip_reason


@strawberry.type(
    description="A standing instruction to pay an account's bills before they fall due."
)
class AutopayEnrollment(Node):
    model: strawberry.Private[models.AutopayEnrollment]

    @strawberry.field
    async def account(self, info: Info) -> BillingAccount:
        found = await info.context.loaders.account.load(self.model.account_id)
        return BillingAccount(model=present(found))

    @strawberry.field(description="The method charged; shown to its owner and to staff.")
    async def method(self, info: Info) -> PaymentMethod | None:
        found = await info.context.loaders.method.load(self.model.method_id)
        return _shown_method(info.context.require_viewer(), found)

    @strawberry.field
    def strategy(self) -> AutopayStrategy:
        return self.model.strategy

    @strawberry.field
    async def fixed_amount(self, info: Info) -> Money | None:
        if self.model.fixed_amount is None:
            return None
        account = await info.context.loaders.account.load(self.model.account_id)
        return Money.of(self.model.fixed_amount, account.currency if account else "USD")

    @strawberry.field(description="The most one charge may take.")
    async def max_amount(self, info: Info) -> Money | None:
        if self.model.max_amount is None:
            return None
        account = await info.context.loaders.account.load(self.model.account_id)
        return Money.of(self.model.max_amount, account.currency if account else "USD")

    @strawberry.field
    def days_before_due(self) -> int:
        return int(self.model.days_before_due)

    @strawberry.field
    def status(self) -> AutopayStatus:
        return self.model.status

    @strawberry.field(
        description="The next bill autopay will charge, or why it would skip it; null when "
        "no statement is ahead."
    )
    async def next_run(self) -> AutopayNextRun | None:
        run = await next_run(self.model, today())
        return None if run is None else AutopayNextRun(run=run)
