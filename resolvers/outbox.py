"""The append-only outbox and audit log, written inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from adapters.clock import now
from models.bulk import Params
from models.bulk_insert import insert_rows, insert_sql
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


async def record_events(
    conn: BaseDBAsyncClient,
    events: Sequence[Mapping[str, Any]],
    *,
    audit: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Append events, given as their fields, in one statement, in order, and the `audit`
    rows that go with them; last in their transaction.

    On PostgreSQL that is one statement in all: the audit rows in a data-modifying WITH,
    and the ordering lock taken by the INSERT itself before its first row gets an id."""
    if conn.capabilities.dialect != "postgres":
        await audit_all(conn, audit)
        if events:
            await insert_rows(conn, OutboxEvent, events)
        return
    if not events:
        await audit_all(conn, audit)
        return
    p = Params(conn)
    audit_sql = f'WITH "audit" AS ({insert_sql(p, AuditLog, audit)}) ' if audit else ""
    lock = f"(SELECT 1 FROM pg_advisory_xact_lock({p(_OUTBOX_LOCK_KEY)})) = 1"
    sql = audit_sql + insert_sql(p, OutboxEvent, events, select=lock) + ' RETURNING "id"'
    if len(await conn.execute_query_dict(sql, p.values)) != len(events):
        raise RuntimeError("outbox events went missing on their way in")


async def audit_all(conn: BaseDBAsyncClient, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append audit rows, given as their fields, in one statement."""
    if rows:
        await insert_rows(conn, AuditLog, rows)
