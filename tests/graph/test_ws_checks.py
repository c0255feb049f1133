"""The WebSocket handler's own database reads never fail the socket's message loop."""

from __future__ import annotations

import pytest
from tortoise.exceptions import OperationalError

from graph import ws


async def test_a_cursor_cannot_be_checked_while_the_database_is_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def away() -> int:
        raise OperationalError("the database went away")

    monkeypatch.setattr(ws, "last_id", away)

    # Not behind as far as anyone knows: the subscription runs alone, the ordinary way,
    # and fails there (in its own operation) if the database is still away.
    assert await ws._behind(5) is False


async def test_a_cursor_at_or_behind_the_newest_event_is_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def newest() -> int:
        return 7

    monkeypatch.setattr(ws, "last_id", newest)

    assert [await ws._behind(n) for n in (6, 7, 8)] == [True, True, False]
