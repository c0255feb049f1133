"""The Query root: thin fields that decode IDs and call one resolver each."""

import datetime
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from graph.context import Info
from graph.ids import decode_id, parse_global_id
from graph.inputs import BillFilterInput, PaymentFilterInput
from graph.types.account import BillingAccount
from graph.types.autopay import AutopayEnrollment
from graph.types.bill import Bill
from graph.types.common import Connection, Node
from graph.types.method import PaymentMethod
from graph.types.notification import Notification
from graph.types.payment import Payment
from graph.types.viewer import Viewer
from resolvers import accounts, autopay, bills, events, history, methods, notifications
from resolvers.access import Viewer as ViewerScope
from resolvers.errors import NotFound


async def _own_member(viewer: ViewerScope, member_id: int) -> Any:
    if member_id != viewer.member.id:
        raise NotFound("viewer")
    return viewer.member


_NODES: dict[str, tuple[Callable[[ViewerScope, int], Awaitable[Any]], type[Node]]] = {
    "BillingAccount": (accounts.get_account, BillingAccount),
    "Bill": (bills.get_bill, Bill),
    "Payment": (history.get_payment, Payment),
    "PaymentMethod": (methods.get_payment_method, PaymentMethod),
    "Notification": (notifications.get_notification, Notification),
    "AutopayEnrollment": (autopay.get_enrollment, AutopayEnrollment),
    "Viewer": (_own_member, Viewer),
}


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in person.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer(model=info.context.require_viewer().member)

    @strawberry.field(description="Any object by global ID; null if unknown or not yours.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        viewer = info.context.require_viewer()
        try:
            type_name, pk = parse_global_id(id)
            resolve, wrap = _NODES[type_name]
            return wrap(model=await resolve(viewer, pk))
        except (NotFound, KeyError):
            return None

    @strawberry.field
    async def account(self, info: Info, id: strawberry.ID) -> BillingAccount | None:
        viewer = info.context.require_viewer()
        try:
            return BillingAccount(
                model=await accounts.get_account(viewer, decode_id(id, "BillingAccount"))
            )
        except NotFound:
            return None

    @strawberry.field
    async def bill(self, info: Info, id: strawberry.ID) -> Bill | None:
        viewer = info.context.require_viewer()
        try:
            return Bill(model=await bills.get_bill(viewer, decode_id(id, "Bill")))
        except NotFound:
            return None

    @strawberry.field(description="Statements across the viewer's accounts, newest first.")
    async def bills(
        self,
        info: Info,
        filter: BillFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Bill]:
        viewer = info.context.require_viewer()
        flt = (filter or BillFilterInput()).to_query()
        page = await bills.list_bills(viewer, flt, first=first, after=after)
        return await Bill.connection(info, page)

    @strawberry.field(description="Payment history across the viewer's accounts, newest first.")
    async def payments(
        self,
        info: Info,
        filter: PaymentFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Payment]:
        viewer = info.context.require_viewer()
        flt = (filter or PaymentFilterInput()).to_query()
        page = await history.list_payments(viewer, flt, first=first, after=after)
        return Connection.of(page, lambda p: Payment(model=p))

    @strawberry.field(
        description=(
            "Where payment events stand: the cursor after the newest event that occurred "
            "before `occurredBefore` (by default, after the newest of all; for a member, of "
            "those they may read). Pass it as `after` to `paymentStatusFeed` or "
            "`paymentEvents` to receive every event since then."
        )
    )
    async def payment_event_cursor(
        self, info: Info, occurred_before: datetime.datetime | None = None
    ) -> str:
        viewer = info.context.require_viewer()
        return await events.payment_event_cursor(viewer, occurred_before=occurred_before)

    @strawberry.field(description="The autopay enrollment of an account, if any.")
    async def autopay(self, info: Info, account_id: strawberry.ID) -> AutopayEnrollment | None:
        viewer = info.context.require_viewer()
        try:
            found = await autopay.get_autopay(viewer, decode_id(account_id, "BillingAccount"))
        except NotFound:
            return None
        return None if found is None else AutopayEnrollment(model=found)

    @strawberry.field(description="The viewer's notifications, newest first.")
    async def notifications(
        self,
        info: Info,
        unread_only: bool | None = False,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Notification]:
        viewer = info.context.require_viewer()
        page = await notifications.list_notifications(
            viewer, unread_only=bool(unread_only), first=first, after=after
        )
        return Connection.of(page, lambda n: Notification(model=n))
