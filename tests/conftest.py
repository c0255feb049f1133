"""Fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from redis import Redis

os.environ.setdefault("CAREPAY_ENV", "test")

from adapters.clock import SystemClock, set_clock
from tests import db as testdb
from tests.services import REDIS_URL, RUN_ID, port_open

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A migrated database for the whole run, one per backend."""
    if request.param == "sqlite":
        url = testdb.sqlite_database_url(Path(tmp_path_factory.mktemp("sqlite")))
        await testdb.open_database(url)
        yield url
        await testdb.close_database()
        return
    url = await testdb.create_postgres_database()
    try:
        await testdb.open_database(url)
        yield url
    finally:
        await testdb.close_database()
        await testdb.drop_postgres_database()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    """An empty, migrated database; tables are emptied after the test."""
    await testdb.truncate_all()
    try:
        yield database_url
    finally:
        set_clock(SystemClock())
        await testdb.truncate_all()


@pytest.fixture(scope="session", autouse=True)
def redis_keys_removed() -> Iterator[None]:
    """Every Redis key this run made (each prefix holds RUN_ID) is deleted when it ends:
    servers under test keep their shared relay cursor there."""
    yield
    parts = urlsplit(REDIS_URL)
    if not port_open(parts.hostname or "127.0.0.1", parts.port or 6379):
        return
    client = Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=f"carepay-test-{RUN_ID}*"):
            client.delete(key)
    finally:
        client.close()
