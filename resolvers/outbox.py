"""The append-only outbox and audit log, written inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from adapters.clock import now
from models.bulk import Params
from models.bulk_insert import Lookup, insert_rows, insert_sql
from models.notifications import Notification
from models.records import AuditLog, OutboxEvent

# Any constant works; it names the one lock that orders outbox writers on PostgreSQL.
_OUTBOX_LOCK_KEY = 7_304_211


async def _serialize_outbox_writers(conn: BaseDBAsyncClient) -> None:
    """Make outbox ids commit in id order.

    A sequence hands out ids at INSERT time, so on PostgreSQL a transaction holding
    id 11 can commit after one holding id 12, and a reader that already moved its
    cursor past 12 would never see 11. A transaction-scoped advisory lock taken
    just before the insert makes writers take ids in the order they commit
    (`record_events` takes it inside its INSERT). SQLite allows one writer at a time.
    """
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_OUTBOX_LOCK_KEY])


async def record_event(
    *,
    topic: str,
    type: str,
    account_id: int | None = None,
    member_id: int | None = None,
    payment_id: int | None = None,
    notification_id: int | None = None,
    payload: dict[str, Any] | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> OutboxEvent:
    """Append an event to the outbox; call it last in the transaction that made the change."""
    conn = using_db or connections.get("default")
    await _serialize_outbox_writers(conn)
    return await OutboxEvent.create(
        topic=topic,
        type=type,
        account_id=account_id,
        member_id=member_id,
        payment_id=payment_id,
        notification_id=notification_id,
        payload=payload or {},
        occurred_at=now(),
        using_db=conn,
    )


async def audit(
    *,
    action: str,
    entity_type: str,
    entity_id: int,
    actor_id: int | None,
    data: dict[str, Any] | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> AuditLog:
    """Append an audit row; call it in the transaction that made the change."""
    return await AuditLog.create(
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor_id,
        data=data or {},
        created_at=now(),
        using_db=using_db,
    )


@dataclass(frozen=True)
class NoticeRef:
    """An event's `notification_id` where the notification is one of the `notices`
    written with it (named by its dedupe key), and has no id yet."""

    dedupe_key: str


async def record_events(
    conn: BaseDBAsyncClient,
    events: Sequence[Mapping[str, Any]],
    *,
    audit: Sequence[Mapping[str, Any]] = (),
    notices: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Append events, given as their fields, in one statement, in order, with the `audit`
    rows and the `notices` (notifications, each with a dedupe key) that go with them;
    last in their transaction. An event names its notice's id as a `NoticeRef`.

    On PostgreSQL that is one statement in all: the audit rows and the notices in
    data-modifying WITHs, and the ordering lock taken by the INSERT itself before its
    first row gets an id."""
    if conn.capabilities.dialect != "postgres" or not events:
        ids = await insert_rows(conn, Notification, notices, unique=("dedupe_key",))
        known = {n["dedupe_key"]: i for n, i in zip(notices, ids, strict=True)}
        await audit_all(conn, audit)
        # SQLite: its one writer at a time already orders the ids (no lock to take).
        await insert_rows(conn, OutboxEvent, [_resolved(e, known.get) for e in events])
        return
    p = Params(conn)
    parts = [f'"audit" AS ({insert_sql(p, AuditLog, audit)})'] if audit else []
    if notices:
        notice_sql = insert_sql(p, Notification, notices)
        parts.append(f'"notice" AS ({notice_sql} RETURNING "id", "dedupe_key")')
    rows = [_resolved(event, _notice_id) for event in events]
    lock = f"(SELECT 1 FROM pg_advisory_xact_lock({p(_OUTBOX_LOCK_KEY)})) = 1"
    sql = insert_sql(p, OutboxEvent, rows, select=lock) + ' RETURNING "id"'
    if parts:
        sql = f"WITH {', '.join(parts)} {sql}"
    if len(await conn.execute_query_dict(sql, p.values)) != len(events):
        raise RuntimeError("outbox events went missing on their way in")


def _resolved(event: Mapping[str, Any], notice_id: Callable[[str], Any]) -> Mapping[str, Any]:
    ref = event.get("notification_id")
    if isinstance(ref, NoticeRef):
        return {**event, "notification_id": notice_id(ref.dedupe_key)}
    return event


def _notice_id(dedupe_key: str) -> Lookup:
    """The id of a notice written in the same statement (the "notice" WITH)."""
    return Lookup('(SELECT "id" FROM "notice" WHERE "dedupe_key" = {})', dedupe_key, "VARCHAR")


async def audit_all(conn: BaseDBAsyncClient, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append audit rows, given as their fields, in one statement."""
    if rows:
        await insert_rows(conn, AuditLog, rows)
