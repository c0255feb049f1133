"""The Tortoise configuration a database URL turns into."""

from models.db import POSTGRES_POOL_SIZE, SQLITE_BUSY_TIMEOUT_MS, tortoise_config


def _credentials(url: str) -> dict[str, object]:
    return dict(tortoise_config(url)["connections"]["default"]["credentials"])


def test_postgres_gets_a_pool_larger_than_tortoises_unless_the_url_names_one() -> None:
    assert POSTGRES_POOL_SIZE > 5  # Tortoise's own default
    plain = _credentials("postgres://carepay@127.0.0.1:5432/carepay")
    assert plain["maxsize"] == POSTGRES_POOL_SIZE
    named = _credentials("postgres://carepay@127.0.0.1:5432/carepay?maxsize=4")
    assert int(str(named["maxsize"])) == 4  # the client reads it with int()


def test_sqlite_gets_wal_and_a_busy_timeout_and_no_pool() -> None:
    credentials = _credentials("sqlite:///tmp/carepay.sqlite3")
    assert credentials["journal_mode"] == "WAL"
    assert credentials["busy_timeout"] == SQLITE_BUSY_TIMEOUT_MS
    assert "maxsize" not in credentials
