"""Settings: one object from CAREPAY_* variables, with refusals that name the variable."""

from __future__ import annotations

import pytest

from settings import DEV_SECRET_KEY, Settings, SettingsError


def test_defaults_are_a_local_sqlite_file_and_in_process_events() -> None:
    settings = Settings.from_env({})

    assert settings.database_url == "sqlite://carepay.sqlite3"
    assert settings.redis_url is None
    assert settings.env == "development" and not settings.production
    assert settings.secret_key == DEV_SECRET_KEY
    assert settings.allow_get_queries is False
    assert settings.reminder_days == (7, 1)


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "CAREPAY_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/carepay",
            "CAREPAY_REDIS_URL": "redis://127.0.0.1:6379/0",
            "CAREPAY_ALLOWED_ORIGINS": "https://pay.example.org, https://billing.example.org",
            "CAREPAY_LOG_LEVEL": "warning",
            "CAREPAY_SCHEDULER_ENABLED": "off",
            "CAREPAY_REMINDER_DAYS": "1,14,7",
            "CAREPAY_MAX_QUERY_DEPTH": "8",
        }
    )

    assert settings.database_url.startswith("postgres://")
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.allowed_origins == ("https://pay.example.org", "https://billing.example.org")
    assert settings.log_level == "WARNING"
    assert settings.scheduler_enabled is False
    assert settings.reminder_days == (14, 7, 1)
    assert settings.max_query_depth == 8


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CAREPAY_ENV": "staging"}, "CAREPAY_ENV"),
        ({"CAREPAY_MAX_TOKENS": "lots"}, "CAREPAY_MAX_TOKENS"),
        ({"CAREPAY_ALLOW_GET_QUERIES": "maybe"}, "CAREPAY_ALLOW_GET_QUERIES"),
        ({"CAREPAY_LOG_LEVEL": "LOUD"}, "CAREPAY_LOG_LEVEL"),
        ({"CAREPAY_REMINDER_DAYS": "7,-1"}, "CAREPAY_REMINDER_DAYS"),
        ({"CAREPAY_ACH_SETTLEMENT_DAYS": "-2"}, "CAREPAY_ACH_SETTLEMENT_DAYS"),
        ({"CAREPAY_ACH_SETTLEMENT_DAYS": "3000000"}, "CAREPAY_ACH_SETTLEMENT_DAYS"),
        ({"CAREPAY_MAX_QUERY_DEPTH": "-1"}, "CAREPAY_MAX_QUERY_DEPTH"),
        ({"CAREPAY_MAX_ALIASES": "-1"}, "CAREPAY_MAX_ALIASES"),
        ({"CAREPAY_MAX_TOKENS": "0"}, "CAREPAY_MAX_TOKENS"),
        ({"CAREPAY_MAX_QUERY_COST": "0"}, "CAREPAY_MAX_QUERY_COST"),
        ({"CAREPAY_DATABASE_URL": "nonsense"}, "CAREPAY_DATABASE_URL"),
        ({"CAREPAY_DATABASE_URL": "mysql://u@127.0.0.1/carepay"}, "CAREPAY_DATABASE_URL"),
        ({"CAREPAY_DATABASE_URL": "psycopg://u@127.0.0.1/carepay"}, "CAREPAY_DATABASE_URL"),
        ({"CAREPAY_SCHEDULER_INTERVAL": "0"}, "CAREPAY_SCHEDULER_INTERVAL"),
        ({"CAREPAY_REMINDER_DAYS": "7,400"}, "CAREPAY_REMINDER_DAYS"),
        ({"CAREPAY_AUTOPAY_NOTICE_DAYS": "366"}, "CAREPAY_AUTOPAY_NOTICE_DAYS"),
        ({"CAREPAY_CARD_EXPIRY_NOTICE_DAYS": "-1"}, "CAREPAY_CARD_EXPIRY_NOTICE_DAYS"),
        ({"CAREPAY_SCHEDULER_INTERVAL": "-5"}, "CAREPAY_SCHEDULER_INTERVAL"),
        ({"CAREPAY_REDIS_URL": "http://x"}, "CAREPAY_REDIS_URL"),
        ({"CAREPAY_ENV": "production"}, "CAREPAY_SECRET_KEY"),
        ({"CAREPAY_ENV": "production", "CAREPAY_SECRET_KEY": "short"}, "CAREPAY_SECRET_KEY"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_origins_are_read_without_a_trailing_slash_as_browsers_send_them() -> None:
    env = {"CAREPAY_ALLOWED_ORIGINS": "https://app.example.org/, https://b.example.org"}

    settings = Settings.from_env(env)

    assert settings.allowed_origins == ("https://app.example.org", "https://b.example.org")


def test_production_starts_with_a_real_secret() -> None:
    settings = Settings.from_env({"CAREPAY_ENV": "production", "CAREPAY_SECRET_KEY": "k" * 40})

    assert settings.production and settings.secret_key == "k" * 40
