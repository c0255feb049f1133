"""Writing a notification together with the outbox event that pushes it on `reminders`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from adapters.clock import now
from models.enums import NotificationKind
from models.notifications import Notification
from resolvers.outbox import record_event

log = logging.getLogger(__name__)
TOPIC = "notifications"
EVENT_TYPE = "NOTIFICATION_CREATED"


@dataclass(frozen=True)
class Notice:
    """A notification to send once: its dedupe key names the occasion."""

    member_id: int
    kind: NotificationKind
    message: str
    dedupe_key: str
    bill_id: int | None = None
    account_id: int | None = None
    payment_id: int | None = None
    amount: int | None = None
    currency: str = "USD"


async def write(conn: BaseDBAsyncClient, notice: Notice) -> Notification:
    """Insert the notification (first) and its outbox event, inside the caller's transaction."""
    notification = await Notification.create(
        member_id=notice.member_id,
        kind=notice.kind,
        message=notice.message[:500],
        bill_id=notice.bill_id,
        account_id=notice.account_id,
        payment_id=notice.payment_id,
        amount=notice.amount,
        currency=notice.currency,
        dedupe_key=notice.dedupe_key,
        created_at=now(),
        using_db=conn,
    )
    await record_event(
        topic=TOPIC,
        type=EVENT_TYPE,
        account_id=notice.account_id,
        member_id=notice.member_id,
        notification_id=notification.id,
        payload={"kind": notice.kind.value, "bill_id": notice.bill_id},
        using_db=conn,
    )
    return notification


async def write_once(conn: BaseDBAsyncClient, notice: Notice) -> Notification | None:
    """`write`, unless its key was sent; for callers that hold a lock serializing the key."""
    sent = Notification.filter(dedupe_key=notice.dedupe_key).using_db(conn)
    if await sent.exists():
        return None
    return await write(conn, notice)


async def send_once(notice: Notice) -> Notification | None:
    """Send the notice in its own transaction; None if its dedupe key was already sent."""
    try:
        async with in_transaction() as conn:
            return await write(conn, notice)
    except IntegrityError:
        # Another worker (or an earlier run) sent it; the unique key refused ours.
        log.debug("notice %s already sent", notice.dedupe_key)
        return None
