"""Tortoise configuration and the database lifecycle."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url

MODEL_MODULES = [
    "models.people",
    "models.bills",
    "models.payments",
    "models.autopay",
    "models.notifications",
    "models.records",
]
MIGRATIONS_MODULE = "migrations"
SQLITE_BUSY_TIMEOUT_MS = 15000
# Connections per worker to PostgreSQL, unless the URL asks for another (?maxsize=N).
# With Tortoise's 5, under payBill load the ledger's and the sandbox's batches held two
# and sign-ins queued for the rest (bench/RESULTS.md).
POSTGRES_POOL_SIZE = 16


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise config for a database URL; SQLite gets WAL and a busy timeout."""
    connection = expand_db_url(database_url)
    if connection["engine"].endswith("sqlite"):
        credentials = connection["credentials"]
        credentials.setdefault("journal_mode", "WAL")
        credentials.setdefault("busy_timeout", SQLITE_BUSY_TIMEOUT_MS)
        credentials.setdefault("synchronous", "NORMAL")
        credentials.setdefault("foreign_keys", "ON")
    else:
        connection["credentials"].setdefault("reset", _keep_session)
        connection["credentials"].setdefault("maxsize", POSTGRES_POOL_SIZE)
    return {
        "connections": {"default": connection},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def _keep_session(connection: object) -> None:
    """A pooled PostgreSQL connection goes back to the pool as it is: nothing here leaves
    session state behind (no SET, LISTEN, cursors or session advisory locks; the outbox
    lock is transaction-scoped), and asyncpg still rolls back an open transaction itself.
    asyncpg's default reset would spend a round trip on every release for nothing."""


async def init_db(database_url: str) -> None:
    """Open the connection pool for the service (schema comes from migrations)."""
    # uvicorn runs the lifespan in its own task; the global fallback lets every request
    # task see the connections opened there (Tortoise's contexts are per task otherwise).
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite database URL; None for PostgreSQL or an in-memory database."""
    connection = expand_db_url(database_url)
    if not connection["engine"].endswith("sqlite"):
        return None
    name = str(connection["credentials"]["file_path"])
    return None if name == ":memory:" else Path(name)


class DatabaseUnreachable(Exception):
    """The database does not answer (the file cannot be opened, the server is down)."""


def check_sqlite_file(path: Path) -> None:
    """DatabaseUnreachable unless SQLite opens the file (making it, as Tortoise would)."""
    try:
        with closing(sqlite3.connect(path)) as db:
            db.execute("SELECT 1")
    except sqlite3.Error as exc:
        raise DatabaseUnreachable(str(exc)) from None


async def check_db() -> None:
    """DatabaseUnreachable unless the database answers a trivial query. Worth asking
    before work that runs in transactions: a failed first connection inside one leaves
    Tortoise's SQLite client waiting on its own lock for good."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as exc:
        raise DatabaseUnreachable(str(exc)) from None


async def close_db() -> None:
    """Close every database connection."""
    await connections.close_all()


def is_postgres() -> bool:
    """Whether the default connection is PostgreSQL."""
    return "postgres" in type(connections.get("default")).__module__ or (
        connections.get("default").capabilities.dialect == "postgres"
    )


# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled
# back whole, and running it again is safe.
_CONFLICT_STATES = frozenset({"40P01", "40001"})


def is_transient_conflict(exc: BaseException) -> bool:
    """Whether a failed transaction lost a race with another one and may simply run again
    (a deadlock or serialization failure, or SQLite still locked after its busy timeout)."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) in _CONFLICT_STATES:
            return True
        if "database is locked" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
