"""A member's notifications: reading and marking read."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.clock import now
from models import Notification
from resolvers.access import Viewer
from resolvers.errors import NotFound
from resolvers.pagination import BY_ID, Page, paginate


async def list_notifications(
    viewer: Viewer, *, unread_only: bool, first: int | None, after: str | None
) -> Page[Notification]:
    """The viewer's own notifications, newest first."""
    query = Notification.filter(member_id=viewer.member.id)
    if unread_only:
        query = query.filter(read_at__isnull=True)
    return await paginate(query, BY_ID, first=first, after=after)


async def get_notification(viewer: Viewer, notification_id: int) -> Notification:
    """One of the viewer's own notifications; NotFound otherwise."""
    found = await Notification.get_or_none(id=notification_id, member_id=viewer.member.id)
    if found is None:
        raise NotFound("notification")
    return found


async def mark_read(viewer: Viewer, notification_ids: Sequence[int] | None) -> int:
    """Mark the viewer's notifications read (all unread when ids is None); returns how many."""
    query = Notification.filter(member_id=viewer.member.id, read_at__isnull=True)
    if notification_ids is not None:
        query = query.filter(id__in=list(notification_ids))
    return await query.update(read_at=now())
