"""Reading saved payment methods."""

from __future__ import annotations

from collections.abc import Sequence

from models import PaymentMethod
from models.enums import PaymentMethodStatus
from resolvers.access import Viewer
from resolvers.errors import NotFound


async def viewer_payment_methods(viewer: Viewer) -> list[PaymentMethod]:
    """The viewer's saved methods that are not removed, default first."""
    return await PaymentMethod.filter(
        member_id=viewer.member.id, status__not=PaymentMethodStatus.REMOVED
    ).order_by("-is_default", "id")


async def get_payment_method(viewer: Viewer, method_id: int) -> PaymentMethod:
    """One of the viewer's own methods (staff may read any); NotFound otherwise."""
    found = await PaymentMethod.get_or_none(id=method_id)
    if found is None or (not viewer.can_see_member(found.member_id)):
        raise NotFound("payment method")
    return found


async def methods_by_ids(ids: Sequence[int]) -> list[PaymentMethod | None]:
    """Methods by id in one query, None where missing."""
    found = {m.id: m for m in await PaymentMethod.filter(id__in=list(ids))}
    return [found.get(i) for i in ids]
