"""Where the demo's rows go, and its notifications, outbox events and audit rows, written
last in time order.

`record_event` stamps events with the clock's now; the demo's history happened over
two years, so each event gets its historic time back once written. Writing them
through `record_event`, oldest first, keeps outbox ids (the cursors) in time order.
Notifications too are written oldest first, so that their ids (newest first is by id)
follow their times as the scheduler's would.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models import AutopayCharge, Member, Notification, PaymentMethod, SandboxCharge
from models.records import AuditLog, OutboxEvent
from resolvers.outbox import record_event

# Notifications older than this were read; newer ones wait in the inbox.
UNREAD_FOR = timedelta(days=10)


class Journal:
    """Outbox events and audit rows collected while the demo is written."""

    def __init__(self) -> None:
        self._events: list[tuple[datetime, int, dict[str, Any]]] = []
        self._audits: list[tuple[datetime, int, dict[str, Any]]] = []
        self._notices: list[tuple[datetime, int, dict[str, Any], dict[str, Any]]] = []
        self._order = itertools.count()

    def notice(self, at: datetime, notification: dict[str, Any], event: dict[str, Any]) -> None:
        """A notification sent at `at` (its fields), and the outbox event that told of it
        (its fields but the notification's id)."""
        self._notices.append((at, next(self._order), notification, event))

    def event(self, at: datetime, **fields: Any) -> None:
        """An outbox event that happened at `at`."""
        self._events.append((at, next(self._order), fields))

    def audit(self, at: datetime, **fields: Any) -> None:
        """An audit row written at `at`."""
        self._audits.append((at, next(self._order), fields))

    @property
    def event_count(self) -> int:
        """How many events are waiting to be written."""
        return len(self._events)

    async def flush(self, conn: BaseDBAsyncClient) -> None:
        """Write everything collected, oldest first."""
        for at, order, notification, event in sorted(self._notices, key=lambda n: n[:2]):
            sent = await Notification.create(created_at=at, using_db=conn, **notification)
            self._events.append((at, order, {**event, "notification_id": sent.id}))
        self._notices.clear()
        written = []
        for at, _, fields in sorted(self._events, key=lambda e: (e[0], e[1])):
            row = await record_event(using_db=conn, **fields)
            row.occurred_at = at
            written.append(row)
        if written:
            await OutboxEvent.bulk_update(
                written, fields=["occurred_at"], batch_size=200, using_db=conn
            )
        audits = [
            AuditLog(created_at=at, **fields)
            for at, _, fields in sorted(self._audits, key=lambda e: (e[0], e[1]))
        ]
        await AuditLog.bulk_create(audits, batch_size=500, using_db=conn)
        self._events.clear()
        self._audits.clear()


@dataclass
class Ledger:
    """Where the demo's rows go: the people, their methods, the journal."""

    rng: random.Random
    today: date
    members: dict[str, Member]
    methods: dict[str, PaymentMethod]
    journal: Journal = field(default_factory=Journal)
    enrollment_id: int | None = None
    sandbox: list[SandboxCharge] = field(default_factory=list)
    autopay: list[AutopayCharge] = field(default_factory=list)
    _keys: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def token(self, nbytes: int) -> str:
        """Hex digits from the seeded generator."""
        return self.rng.randbytes(nbytes).hex()

    def read_at(self, at: datetime) -> datetime | None:
        """When a notification sent at `at` was read, if it is old enough to have been."""
        if at.date() > self.today - UNREAD_FOR:
            return None
        return at + timedelta(hours=self.rng.randint(1, 30))

    def next_key(self) -> str:
        """A processor idempotency key no other demo payment has."""
        return f"demo-{next(self._keys):04d}"
