"""Live events for subscribers: payment events, the staff feed and a member's reminders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from adapters.broker import Batch, Broker, Event, InProcessBroker
from adapters.redis_broker import RedisBroker
from models.notifications import Notification
from models.payments import Payment
from models.records import OutboxEvent
from resolvers.access import Viewer
from resolvers.errors import Forbidden, InvalidInput, NotFound
from resolvers.event_log import (
    event_cursor,
    last_id,
    last_id_before,
    last_id_readable,
    parse_event_cursor,
)
from resolvers.event_stream import EventStream, Interest, Window
from resolvers.memo import Memo, Shared
from resolvers.pagination import BY_ID
from resolvers.relay import Relay
from settings import Settings

AHEAD_MESSAGE = (
    "`after` is ahead of the newest event (a cursor of another database): "
    "ask paymentEventCursor for a fresh one"
)

PAYMENTS_TOPIC = "payments"
NOTIFICATIONS_TOPIC = "notifications"


# Keyed by (event id, row id): a payment seen by a later event is loaded afresh.
async def _payment(key: tuple[int, int]) -> Payment | None:
    return await Payment.get_or_none(id=key[1])


async def _notification(key: tuple[int, int]) -> Notification | None:
    return await Notification.get_or_none(id=key[1])


class EventHub:
    """One process's broker, relay and shared lookups for every subscriber it serves."""

    def __init__(self, broker: Broker, *, queue_size: int, relay_interval: float) -> None:
        self.broker = broker
        self.stream = EventStream(broker, queue_size=queue_size)
        self.relay = Relay(broker, interval=relay_interval)
        # Loaded once per worker when an event reaches many subscribers at the same time.
        self.payments: Memo[tuple[int, int], Payment | None] = Memo(_payment, size=1024)
        self.notifications: Memo[tuple[int, int], Notification | None] = Memo(
            _notification, size=1024
        )
        # Whatever the API layer computes once per event for subscribers that would get
        # the same answer (graph/shared_execution.py keys it).
        self.shared: Shared[tuple[object, ...], object] = Shared(size=1024)
        broker.local.prepare = self.prepare

    async def prepare(self, batch: Batch) -> None:
        """Before a batch reaches this worker's subscribers: who may see each event, and the
        payments the events are about, each in one query (so no subscriber waits on them)."""
        await self.stream.prepare(batch)
        keys = [
            (event.id, event.payment_id)
            for event in batch.events
            if event.payment_id is not None
            and not self.payments.known((event.id, event.payment_id))
        ]
        if keys:
            rows = await Payment.filter(id__in={payment_id for _, payment_id in keys})
            by_id = {row.id: row for row in rows}
            for key in keys:
                self.payments.prime(key, by_id.get(key[1]))

    async def start(self) -> None:
        """Connect the broker and start relaying."""
        await self.broker.start()
        self.relay.start()

    async def stop(self) -> None:
        """Stop relaying and disconnect."""
        await self.relay.stop()
        await self.broker.close()


def hub_for(settings: Settings) -> EventHub:
    """The hub the settings ask for: Redis when CAREPAY_REDIS_URL is set, else in-process."""
    broker: Broker
    if settings.redis_url:
        broker = RedisBroker(settings.redis_url, prefix=settings.redis_prefix)
    else:
        broker = InProcessBroker()
    return EventHub(
        broker,
        queue_size=settings.subscription_queue_size,
        relay_interval=settings.relay_interval_ms / 1000,
    )


async def _after(cursor: str | None) -> int | None:
    """The outbox id a cursor points at. InvalidInput if it is ahead of the newest event:
    a cursor of another database (replaced or restored since), which a stream would
    follow in silence, waiting for ids that may never come."""
    if cursor is None:
        return None
    position = parse_event_cursor(cursor)
    if position > await last_id():
        raise InvalidInput(AHEAD_MESSAGE)
    return position


async def payment_event_cursor(viewer: Viewer, *, occurred_before: datetime | None) -> str:
    """A cursor after the newest event that occurred before a time (or after the newest of
    all); the time has a zone (the API's DateTime gives every time one, graph/scalars.py).
    A member's cursor is of the events they may read (their accounts', and those addressed
    to them): it resumes their subscriptions just as well, and tells nothing of how many
    payments everyone else makes."""
    if not viewer.is_staff:
        accounts = viewer.account_ids or []
        mine = await last_id_readable(accounts, viewer.member.id, before=occurred_before)
        return event_cursor(mine)
    if occurred_before is None:
        return event_cursor(await last_id())
    return event_cursor(await last_id_before(occurred_before))


def _follow(
    hub: EventHub, interest: Interest, after: int | None, window: Window | None
) -> AsyncIterator[Event]:
    if window is None:
        return hub.stream.follow(interest, after=after)
    return hub.stream.within(interest, after=after, window=window)


async def payment_events(
    hub: EventHub,
    viewer: Viewer,
    *,
    account_id: int | None,
    after: str | None,
    window: Window | None = None,
) -> AsyncIterator[Event]:
    """Events of payments on accounts the viewer may see (one account if given)."""
    if account_id is not None and not viewer.can_see(account_id):
        raise NotFound("account")
    reader = None if viewer.is_staff else viewer.member.id
    interest = Interest(PAYMENTS_TOPIC, account_id=account_id, reader_id=reader)
    return _follow(hub, interest, await _after(after), window)


async def payment_status_feed(
    hub: EventHub, viewer: Viewer, *, after: str | None, window: Window | None = None
) -> AsyncIterator[Event]:
    """Every account's payment events, for billing-office dashboards (staff only)."""
    if not viewer.is_staff:
        raise Forbidden("paymentStatusFeed is for billing-office staff")
    return _follow(hub, Interest(PAYMENTS_TOPIC), await _after(after), window)


async def reminders(
    hub: EventHub, viewer: Viewer, *, after: str | None
) -> AsyncIterator[Notification]:
    """The viewer's own new notifications; `after` is a notification's cursor."""
    start = None if after is None else await _outbox_id_of_notification(viewer, after)
    interest = Interest(NOTIFICATIONS_TOPIC, member_id=viewer.member.id)
    return _notifications(hub, hub.stream.follow(interest, after=start))


async def _notifications(
    hub: EventHub, events: AsyncIterator[Event]
) -> AsyncIterator[Notification]:
    async for event in events:
        if event.notification_id is None:
            continue
        notification = await hub.notifications.get((event.id, event.notification_id))
        if notification is not None:
            yield notification


async def _outbox_id_of_notification(viewer: Viewer, cursor: str) -> int:
    """Where in the outbox the notification a cursor points at was announced."""
    _, notification_id = BY_ID.decode(cursor)
    ids = (
        await OutboxEvent.filter(
            topic=NOTIFICATIONS_TOPIC,
            member_id=viewer.member.id,
            notification_id__lte=notification_id,
        )
        .order_by("-notification_id", "-id")
        .limit(1)
        .values_list("id")
    )
    return int(ids[0][0]) if ids else 0


async def payment_of(hub: EventHub, event: Event) -> Payment | None:
    """The payment an event is about (shared by every subscriber of this worker)."""
    if event.payment_id is None:
        return None
    return await hub.payments.get((event.id, event.payment_id))
