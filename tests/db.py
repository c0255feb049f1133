"""Per-run test databases: one SQLite file and one PostgreSQL database, migrated once."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.base.executor import EXECUTOR_CACHE

from models.db import init_db
from models.migrate import apply_migrations
from tests.services import POSTGRES_URL, RUN_ID, port_open, unavailable

TABLES = [
    "audit_log",
    "outbox_event",
    "idempotency_record",
    "notification",
    "autopay_charge",
    "autopay_enrollment",
    "refund",
    "payment",
    "sandbox_charge",
    "payment_method",
    "bill_line_item",
    "bill",
    "account_access",
    "billing_account",
    "member",
]


def postgres_database_url() -> str:
    """A database name for this run on the test PostgreSQL server."""
    return f"{POSTGRES_URL}/carepay_test_{RUN_ID}"


async def create_postgres_database() -> str:
    """Create this run's PostgreSQL database, or skip/fail if the server is absent."""
    parts = urlsplit(POSTGRES_URL)
    if not port_open(parts.hostname or "127.0.0.1", parts.port or 5432):
        unavailable("PostgreSQL", POSTGRES_URL)
    url = postgres_database_url()
    conn = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "carepay_test_{RUN_ID}"')
    finally:
        await conn.close()
    return url


async def drop_postgres_database() -> None:
    """Drop this run's PostgreSQL database."""
    conn = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "carepay_test_{RUN_ID}" WITH (FORCE)')
    finally:
        await conn.close()


def scratch_folder(prefix: str) -> Path:
    """A new folder, removed when this process exits."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def sqlite_database_url(directory: Path | None = None) -> str:
    """A fresh SQLite file in `directory`, or in a folder removed when this process exits."""
    folder = directory or scratch_folder("carepay-sqlite-")
    return f"sqlite://{folder / 'carepay.sqlite3'}"


async def open_database(url: str) -> None:
    """Migrate the database and open the service connection to it."""
    await apply_migrations(url)
    await init_db(url)


async def truncate_all() -> None:
    """Empty every table and reset the id sequences, between tests."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    else:
        statements = [f"DELETE FROM {table}" for table in TABLES]
        statements.append("DELETE FROM sqlite_sequence")
        await conn.execute_script(";\n".join(statements) + ";")


async def close_database() -> None:
    """Close every connection and forget the models' binding to this backend."""
    await Tortoise.close_connections()
    await Tortoise._reset_apps()
    # Compiled INSERT/UPDATE statements are cached per connection *name*; the next
    # backend reuses the name "default", so its dialect must not inherit them.
    EXECUTOR_CACHE.clear()
