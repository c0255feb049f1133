"""Bill (a statement) and its line items."""

import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

import models
from adapters.clock import today
from graph.context import Info
from graph.loaders import now_or_later
from graph.lookahead import load_bill_details
from graph.types.account import BillingAccount
from graph.types.common import BillStatus, Connection, Money, Node, present
from models.ledger import bill_status
from resolvers.pagination import Page

if TYPE_CHECKING:
    from graph.types.payment import Payment


@strawberry.type(description="One service on a statement, coded with CPT/HCPCS.")
class BillLineItem:
    model: strawberry.Private[models.BillLineItem]
    currency: strawberry.Private[str]

    @strawberry.field
    def service_date(self) -> datetime.date:
        return self.model.service_date

    @strawberry.field
    def description(self) -> str:
        return str(self.model.description)

    @strawberry.field(description="CPT or HCPCS code.")
    def code(self) -> str:
        return str(self.model.code)

    @strawberry.field
    def provider(self) -> str:
        return str(self.model.provider)

    @strawberry.field
    def charge(self) -> Money:
        return Money.of(self.model.charge, self.currency)

    @strawberry.field
    def insurance_paid(self) -> Money:
        return Money.of(self.model.insurance_paid, self.currency)

    @strawberry.field(description="Contractual adjustment or discount.")
    def adjustment(self) -> Money:
        return Money.of(self.model.adjustment, self.currency)

    @strawberry.field(description="charge - insurancePaid - adjustment.")
    def patient_amount(self) -> Money:
        return Money.of(self.model.patient_amount, self.currency)


@strawberry.type(description="A statement: what was charged, what insurance paid, what is owed.")
class Bill(Node):
    model: strawberry.Private[models.Bill]

    @classmethod
    async def connection(cls, info: Info, page: Page[models.Bill]) -> Connection["Bill"]:
        """A page of bills, with the details the query selects of them loaded ahead."""
        await load_bill_details(info, page.items)
        return Connection.of(page, lambda bill: cls(model=bill))

    def _money(self, minor: int) -> Money:
        return Money.of(minor, self.model.currency)

    @strawberry.field
    def statement_number(self) -> str:
        return str(self.model.statement_number)

    @strawberry.field
    async def account(self, info: Info) -> BillingAccount:
        found = await info.context.loaders.account.load(self.model.account_id)
        return BillingAccount(model=present(found))

    @strawberry.field
    def statement_date(self) -> datetime.date:
        return self.model.statement_date

    @strawberry.field
    def due_date(self) -> datetime.date:
        return self.model.due_date

    @strawberry.field
    def status(self) -> BillStatus:
        return bill_status(self.model, today())

    @strawberry.field
    def total_charges(self) -> Money:
        return self._money(self.model.total_charges)

    @strawberry.field
    def insurance_paid(self) -> Money:
        return self._money(self.model.insurance_paid)

    @strawberry.field
    def adjustments(self) -> Money:
        return self._money(self.model.adjustments)

    @strawberry.field(description="totalCharges - insurancePaid - adjustments.")
    def patient_responsibility(self) -> Money:
        return self._money(self.model.patient_responsibility)

    @strawberry.field(description="Payments that succeeded, including any later refunded.")
    def amount_paid(self) -> Money:
        return self._money(self.model.amount_paid)

    @strawberry.field(description="Payments on their way.")
    def amount_pending(self) -> Money:
        return self._money(self.model.amount_pending)

    @strawberry.field(description="Refunds and returns that put money back on the bill.")
    def amount_refunded(self) -> Money:
        return self._money(self.model.amount_refunded)

    @strawberry.field(
        description="patientResponsibility - amountPaid - amountPending + amountRefunded."
    )
    def amount_due(self) -> Money:
        return self._money(self.model.amount_due)

    @strawberry.field(description="The least that keeps the account in good standing.")
    def minimum_due(self) -> Money:
        return self._money(min(self.model.minimum_due, self.model.amount_due))

    # Synchronous when the page loaded them ahead (graph/lookahead.py), else awaited.
    @strawberry.field
    def line_items(self, info: Info) -> list[BillLineItem]:
        currency = self.model.currency
        return now_or_later(  # type: ignore[no-any-return]
            info.context.loaders.line_items,
            self.model.id,
            lambda items: [BillLineItem(model=i, currency=currency) for i in items],
        )

    @strawberry.field(description="Payments toward this bill, newest first.")
    def payments(
        self, info: Info
    ) -> list[Annotated["Payment", strawberry.lazy("graph.types.payment")]]:
        from graph.types.payment import Payment

        return now_or_later(  # type: ignore[no-any-return]
            info.context.loaders.payments_of_bill,
            self.model.id,
            lambda found: [Payment(model=p) for p in found],
        )
