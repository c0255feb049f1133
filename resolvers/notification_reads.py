"""Marking the viewer's notifications read: some by id, or all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from adapters.clock import now
from models import Notification
from models.enums import NotificationErrorCode
from resolvers.access import Viewer
from resolvers.errors import DomainError

# One call marks at most this many by id; `all: true` has no such limit.
MAX_IDS = 100


class NotificationError(DomainError):
    """A notifications mutation refused."""

    code: NotificationErrorCode

    def __init__(self, code: NotificationErrorCode, message: str, field: list[str] | None = None):
        super().__init__(code, message, field)


@dataclass(frozen=True)
class Marked:
    """How many notifications this call marked read, and how many are still unread."""

    marked: int
    unread: int


def check_id_count(count: int) -> None:
    """Refuse an empty list, or one of more ids than one call may mark."""
    if count == 0:
        raise NotificationError(
            NotificationErrorCode.INVALID_INPUT, "Give at least one notification ID.", ["ids"]
        )
    if count > MAX_IDS:
        raise NotificationError(
            NotificationErrorCode.INVALID_INPUT,
            f"Give at most {MAX_IDS} notification IDs in one call.",
            ["ids"],
        )


async def mark_notifications_read(
    *, viewer: Viewer, ids: Sequence[int] | None = None, all: bool = False
) -> Marked:
    """Mark the given notifications (or all) read; refused unless every id is the viewer's."""
    if (ids is None) == (not all):
        raise NotificationError(
            NotificationErrorCode.INVALID_INPUT, "Give either `ids` or `all: true`.", ["ids"]
        )
    if ids is not None:
        check_id_count(len(ids))
    mine = Notification.filter(member_id=viewer.member.id)
    async with in_transaction() as conn:
        if ids is None:
            marked = await mine.filter(read_at__isnull=True).using_db(conn).update(read_at=now())
        else:
            wanted = set(ids)
            # The write first, then the check: a refusal rolls it back.
            marked = (
                await mine.filter(id__in=list(wanted), read_at__isnull=True)
                .using_db(conn)
                .update(read_at=now())
            )
            if await mine.filter(id__in=list(wanted)).using_db(conn).count() != len(wanted):
                raise NotificationError(
                    NotificationErrorCode.NOTIFICATION_NOT_FOUND,
                    "There is no such notification.",
                    ["ids"],
                )
        unread = await mine.filter(read_at__isnull=True).using_db(conn).count()
    return Marked(marked=marked, unread=unread)


async def unread_count(viewer: Viewer) -> int:
    """How many of the viewer's notifications are unread (a refused call still says)."""
    return await Notification.filter(member_id=viewer.member.id, read_at__isnull=True).count()
