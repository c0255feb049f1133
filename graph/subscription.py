"""The Subscription root: payment events, the staff feed and reminders, over graphql-transport-ws.

Each field checks its arguments and the viewer before the stream starts (so a refusal
is a GraphQL error, not an empty stream), then maps every event to its GraphQL type.
"""

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.dataloader import DataLoader, DefaultCache

from adapters.broker import Event
from graph.context import Info
from graph.errors import error_code
from graph.ids import decode_id
from graph.loaders import Loaders
from graph.types.event import PaymentEvent
from graph.types.notification import Notification
from models import Notification as NotificationRow
from resolvers import events
from resolvers.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

T = TypeVar("T")
R = TypeVar("R")


async def _each(
    info: Info, source: AsyncIterator[T], wrap: Callable[[T], R]
) -> AsyncGenerator[R, None]:
    async for item in source:
        # A socket lives for hours: every event gets DataLoaders that remember nothing older.
        if _used(info.context.loaders):
            info.context.loaders = Loaders(enabled=info.context.loaders.enabled)
        yield wrap(item)


@contextmanager
def _refusals() -> Iterator[None]:
    """Refusals before the stream starts become one coded GraphQL error."""
    try:
        yield
    except (NotFound, Forbidden, InvalidInput, Unauthenticated) as exc:
        message = f"{exc} not found" if isinstance(exc, NotFound) else str(exc)
        code = error_code(GraphQLError(message, original_error=exc))
        raise GraphQLError(message, extensions={"code": code}) from None


def _used(loaders: Loaders) -> bool:
    """Whether any loader remembers something (subscribers sharing a result load nothing)."""
    for loader in vars(loaders).values():
        if isinstance(loader, DataLoader):
            cache = getattr(loader, "cache_map", None)
            if loader.batch is not None or not isinstance(cache, DefaultCache) or cache.cache_map:
                return True
    return False


def _payment_event(event: Event) -> PaymentEvent:
    return PaymentEvent(event=event)


def _notification(row: NotificationRow) -> Notification:
    return Notification(model=row)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=(
            "Payment events of the accounts you may see, or of one (`accountId`): "
            "confirmations, failures, returns, refunds. With `after` (an event cursor), "
            "the events since then first."
        )
    )
    async def payment_events(
        self, info: Info, account_id: strawberry.ID | None = None, after: str | None = None
    ) -> AsyncGenerator[PaymentEvent, None]:
        with _refusals():
            viewer = info.context.require_viewer()
            account = None if account_id is None else decode_id(account_id, "BillingAccount")
            source = await events.payment_events(
                info.context.require_events(),
                viewer,
                account_id=account,
                after=after,
                window=info.context.window,
            )
        return _each(info, source, _payment_event)

    @strawberry.subscription(
        description=(
            "Your new notifications: due soon, overdue, autopay upcoming, confirmations. "
            "With `after` (a notification's cursor), the ones since then first."
        )
    )
    async def reminders(
        self, info: Info, after: str | None = None
    ) -> AsyncGenerator[Notification, None]:
        with _refusals():
            viewer = info.context.require_viewer()
            source = await events.reminders(info.context.require_events(), viewer, after=after)
        return _each(info, source, _notification)

    @strawberry.subscription(
        description=(
            "Every account's payment events, for billing-office dashboards (staff only). "
            "With `after` (an event cursor), the events since then first."
        )
    )
    async def payment_status_feed(
        self, info: Info, after: str | None = None
    ) -> AsyncGenerator[PaymentEvent, None]:
        with _refusals():
            viewer = info.context.require_viewer()
            source = await events.payment_status_feed(
                info.context.require_events(), viewer, after=after, window=info.context.window
            )
        return _each(info, source, _payment_event)
