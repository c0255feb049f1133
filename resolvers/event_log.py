"""Reading the outbox: the newest id, stretches of rows as events, and event cursors.

Outbox ids commit in id order (see resolvers/outbox.py), so once a reader sees id N
every row up to N that will ever exist is visible too: reading `after < id <= N`
gives a complete stretch.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tortoise import connections

from adapters.broker import Event
from models.bulk import Params
from models.keys import MAX_OUTBOX_ID
from models.records import OutboxEvent
from resolvers.errors import InvalidInput

_CURSOR_PREFIX = "outbox:"


def event_cursor(event_id: int) -> str:
    """The opaque cursor that resumes a subscription after this event."""
    raw = f"{_CURSOR_PREFIX}{event_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_event_cursor(cursor: str) -> int:
    """The outbox id an event cursor points at; InvalidInput if it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("`after` is not a valid event cursor") from None
    digits = raw.removeprefix(_CURSOR_PREFIX)
    # Only what event_cursor writes: the prefix, then ASCII digits of an id the outbox can hold.
    if (
        not raw.startswith(_CURSOR_PREFIX)
        or not (digits.isascii() and digits.isdigit())
        or len(digits) > len(str(MAX_OUTBOX_ID))
        or int(digits) > MAX_OUTBOX_ID
    ):
        raise InvalidInput("`after` is not a valid event cursor")
    return int(digits)


def to_event(row: Mapping[str, Any]) -> Event:
    """An outbox row, as the database returned it, as a broker event. The two columns
    whose stored form differs by backend go through their fields (JSON text, and SQLite's
    datetimes as text); building the model first would cost the relay more than the
    read itself."""
    fields = OutboxEvent._meta.fields_map
    payload = fields["payload"].to_python_value(row["payload"])
    return Event(
        id=int(row["id"]),
        topic=row["topic"],
        type=row["type"],
        occurred_at=fields["occurred_at"].to_python_value(row["occurred_at"]),
        account_id=row["account_id"],
        member_id=row["member_id"],
        payment_id=row["payment_id"],
        notification_id=row["notification_id"],
        payload=dict(payload or {}),
    )


async def last_id() -> int:
    """The newest committed outbox id (0 when the outbox is empty)."""
    rows = await OutboxEvent.all().order_by("-id").limit(1).values_list("id")
    return int(rows[0][0]) if rows else 0


async def last_id_before(at: datetime) -> int:
    """The id of the newest event that occurred before `at` (0 when there is none)."""
    # Scans back from the newest row: as many rows as occurred since `at`.
    rows = await OutboxEvent.filter(occurred_at__lt=at).order_by("-id").limit(1).values_list("id")
    return int(rows[0][0]) if rows else 0


async def last_id_readable(
    account_ids: Sequence[int], member_id: int, *, before: datetime | None = None
) -> int:
    """The id of the newest event (that occurred before `before`) of one of the accounts
    or addressed to the member; 0 when there is none. Each condition reads its own index,
    so it costs what the member's own events do, however long the outbox."""
    newest = 0
    conditions: list[dict[str, Any]] = [
        {"account_id__in": list(account_ids)},
        {"member_id": member_id},
    ]
    for condition in conditions:
        if before is not None:
            condition["occurred_at__lt"] = before
        rows = await OutboxEvent.filter(**condition).order_by("-id").limit(1).values_list("id")
        newest = max(newest, int(rows[0][0]) if rows else 0)
    return newest


async def read_after(
    after: int,
    *,
    limit: int,
    upto: int | None = None,
    topic: str | None = None,
    account_ids: Sequence[int] | None = None,
    member_id: int | None = None,
) -> list[Event]:
    """Up to `limit` events with `after < id <= upto`, oldest first, optionally narrowed.

    One plain statement: the relay reads after every commit that wrote events."""
    conn = connections.get("default")
    p = Params(conn)
    conditions = [f'"id" > {p(after)}']
    if upto is not None:
        conditions.append(f'"id" <= {p(upto)}')
    if topic is not None:
        conditions.append(f'"topic" = {p(topic)}')
    if account_ids is not None:
        conditions.append(p.is_in("account_id", list(account_ids)) if account_ids else "1 = 0")
    if member_id is not None:
        conditions.append(f'"member_id" = {p(member_id)}')
    sql = (
        f'SELECT * FROM "outbox_event" WHERE {" AND ".join(conditions)} '
        f'ORDER BY "id" LIMIT {p(limit)}'
    )
    rows = await conn.execute_query_dict(sql, p.values)
    return [to_event(row) for row in rows]
