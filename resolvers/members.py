"""Reading members: the people who sign in and pay."""

from __future__ import annotations

from collections.abc import Sequence

from models import Member


async def members_by_ids(ids: Sequence[int]) -> list[Member | None]:
    """Members by id in one query, None where missing."""
    found = {m.id: m for m in await Member.filter(id__in=list(ids))}
    return [found.get(i) for i in ids]
