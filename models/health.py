"""Is the database reachable, and are its migrations current."""

from __future__ import annotations

import logging

from tortoise import connections

from models.migrate import pending_migrations

log = logging.getLogger(__name__)


async def database_status() -> dict[str, object]:
    """A readiness report: status is "ready" only when both checks pass."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as exc:  # any failure means not ready; the reason is reported
        log.warning("database unreachable: %s", exc)
        return {"status": "unavailable", "database": "unreachable"}
    pending = await pending_migrations()
    if pending:
        return {"status": "unavailable", "database": "ok", "pending_migrations": pending}
    return {"status": "ready", "database": "ok", "migrations": "current"}
