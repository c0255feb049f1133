"""Outbox ids commit in id order: a second writer waits for the first to commit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from models import AuditLog, OutboxEvent
from resolvers.outbox import record_events

_AT = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _event(n: int) -> dict[str, object]:
    return {"topic": "payments", "type": "PAYMENT_CREATED", "payload": {"n": n}, "occurred_at": _AT}


def _audit(n: int) -> dict[str, object]:
    return {"action": "test", "entity_type": "test", "entity_id": n, "created_at": _AT}


async def test_a_second_outbox_writer_waits_until_the_first_commits(db: str) -> None:
    wrote, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with in_transaction() as conn:
            await record_events(conn, [_event(1), _event(2)], audit=[_audit(1)])
            wrote.set()
            await release.wait()  # holds its ids, uncommitted

    async def second() -> None:
        async with in_transaction() as conn:
            await record_events(conn, [_event(3)], audit=[_audit(3)])

    holder = asyncio.create_task(first())
    await wrote.wait()
    follower = asyncio.create_task(second())
    await asyncio.sleep(0.3)
    assert not follower.done(), "the second writer took an outbox id while the first was open"
    release.set()
    await asyncio.gather(holder, follower)

    rows = await OutboxEvent.all().order_by("id").values_list("payload", flat=True)
    assert rows == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert sorted(await AuditLog.all().values_list("entity_id", flat=True)) == [1, 3]
