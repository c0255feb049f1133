"""markNotificationsRead: decode IDs, call one resolver, map errors."""

import strawberry

from graph.context import Info
from graph.ids import decode_id
from models import enums
from resolvers import notification_reads
from resolvers.access import Viewer
from resolvers.errors import NotFound

strawberry.enum(enums.NotificationErrorCode, description="Why a notifications change failed.")
NotificationErrorCode = enums.NotificationErrorCode


@strawberry.type(description="An expected failure of a notifications mutation.")
class NotificationError:
    field: list[str] | None = strawberry.field(description="The input field at fault, if one.")
    message: str
    code: NotificationErrorCode


@strawberry.input(description="Mark notifications read: give `ids`, or `all: true`.")
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description=(
            f"Your notifications to mark read, at most {notification_reads.MAX_IDS} in one call."
        ),
    )
    all: bool | None = strawberry.field(default=None, description="Mark every unread one read.")


@strawberry.type
class MarkNotificationsReadPayload:
    marked_count: int = strawberry.field(description="How many were unread and are now read.")
    unread_count: int = strawberry.field(description="How many of yours are still unread.")
    errors: list[NotificationError]


async def _refused(
    viewer: Viewer, error: notification_reads.NotificationError
) -> MarkNotificationsReadPayload:
    failure = NotificationError(field=error.field, message=error.message, code=error.code)
    unread = await notification_reads.unread_count(viewer)
    return MarkNotificationsReadPayload(marked_count=0, unread_count=unread, errors=[failure])


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(description="Mark some or all of your notifications read.")
    async def mark_notifications_read(
        self, info: Info, input: MarkNotificationsReadInput
    ) -> MarkNotificationsReadPayload:
        viewer = info.context.begin_mutation()
        try:
            ids = None
            if input.ids is not None:
                notification_reads.check_id_count(len(input.ids))  # before decoding them all
                ids = [_decode(global_id, index) for index, global_id in enumerate(input.ids)]
            result = await notification_reads.mark_notifications_read(
                viewer=viewer, ids=ids, all=bool(input.all)
            )
        except notification_reads.NotificationError as exc:
            return await _refused(viewer, exc)
        return MarkNotificationsReadPayload(
            marked_count=result.marked, unread_count=result.unread, errors=[]
        )


def _decode(global_id: str, index: int) -> int:
    try:
        return decode_id(global_id, "Notification")
    except NotFound:
        raise notification_reads.NotificationError(
            NotificationErrorCode.NOTIFICATION_NOT_FOUND,
            "There is no such notification.",
            ["ids", str(index)],
        ) from None
