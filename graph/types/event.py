"""PaymentEvent: one change of a payment, as subscribers receive it."""

import datetime

import strawberry

from adapters.broker import Event
from graph.context import Info
from graph.types.common import PaymentEventType, PaymentStatus, present
from graph.types.payment import Payment
from resolvers.event_log import event_cursor
from resolvers.events import payment_of


@strawberry.type(description="A change of a payment, delivered in outbox order.")
class PaymentEvent:
    event: strawberry.Private[Event]

    @strawberry.field(description="Resume point: pass it as `after` to receive what follows.")
    def cursor(self) -> str:
        return event_cursor(self.event.id)

    @strawberry.field
    def type(self) -> PaymentEventType:
        return PaymentEventType(self.event.type)

    @strawberry.field(description="The payment's status right after this change.")
    def status(self) -> PaymentStatus:
        return PaymentStatus(self.event.payload["status"])

    @strawberry.field(description="The payment as it stands now.")
    async def payment(self, info: Info) -> Payment:
        return Payment(model=present(await payment_of(info.context.require_events(), self.event)))

    @strawberry.field
    def occurred_at(self) -> datetime.datetime:
        return self.event.occurred_at
