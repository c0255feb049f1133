"""Reading autopay enrollments."""

from __future__ import annotations

from collections.abc import Sequence

from models import AutopayEnrollment
from resolvers.access import Viewer
from resolvers.errors import NotFound


async def get_autopay(viewer: Viewer, account_id: int) -> AutopayEnrollment | None:
    """The account's autopay enrollment, if any; NotFound if the account is not the viewer's."""
    if not viewer.can_see(account_id):
        raise NotFound("account")
    return await AutopayEnrollment.get_or_none(account_id=account_id)


async def get_enrollment(viewer: Viewer, enrollment_id: int) -> AutopayEnrollment:
    """An enrollment on an account the viewer may see; NotFound otherwise."""
    found = await AutopayEnrollment.get_or_none(id=enrollment_id)
    if found is None or not viewer.can_see(found.account_id):
        raise NotFound("autopay enrollment")
    return found


async def autopay_for_accounts(account_ids: Sequence[int]) -> list[AutopayEnrollment | None]:
    """Each account's enrollment, in one query."""
    found = {
        e.account_id: e for e in await AutopayEnrollment.filter(account_id__in=list(account_ids))
    }
    return [found.get(a) for a in account_ids]
