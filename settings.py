"""One Settings object, read from CAREPAY_* environment variables once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jwt

DEV_SECRET_KEY = "carepay-development-secret-do-not-use-in-production"
ENVIRONMENTS = ("development", "test", "production")
# Algorithms for an identity provider's public key; HS256 (the shared secret) otherwise.
PUBLIC_KEY_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")
# ACH debits settle in a few banking days; far more is a typo (and a long calendar walk).
MAX_SETTLEMENT_DAYS = 30
# Reminders and notices look at most a year ahead (and `scheduler run-once --at` takes
# years 2-9998, so the dates it counts stay within what a date can hold).
MAX_NOTICE_DAYS = 365


class SettingsError(ValueError):
    """A CAREPAY_* variable holds a value the service refuses to start with."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def _list(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _origins(env: Mapping[str, str]) -> tuple[str, ...]:
    """Browser origins as browsers send them: without a trailing slash, so that CORS and
    the origin guard read "https://app.example.org/" alike."""
    return tuple(
        o.rstrip("/") for o in _list(env, "CAREPAY_ALLOWED_ORIGINS", Settings.allowed_origins)
    )


def _days(env: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """Distinct positive day counts, largest first; an empty value means none."""
    if name not in env:
        return default
    try:
        days = sorted({int(item) for item in _list(env, name, ())}, reverse=True)
    except ValueError:
        raise SettingsError(f"{name} must be comma-separated day counts, e.g. 7,1") from None
    if any(not 1 <= day <= MAX_NOTICE_DAYS for day in days):
        raise SettingsError(f"{name} must hold day counts from 1 to {MAX_NOTICE_DAYS}")
    return tuple(days)


def _timezone(env: Mapping[str, str]) -> str:
    """An IANA zone name whose calendar days are the service's (due dates, reminders)."""
    name = env.get("CAREPAY_TIMEZONE") or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"CAREPAY_TIMEZONE is not an IANA time zone: {name!r}") from None
    return name


class _Identity(TypedDict):
    jwt_public_key: str | None
    jwt_algorithm: str
    jwt_issuer: str | None
    jwt_audience: str | None


def _identity_provider(env: Mapping[str, str]) -> _Identity:
    """Token verification: an identity provider's public key, issuer and audience, if set."""
    path = env.get("CAREPAY_JWT_PUBLIC_KEY_FILE") or None
    algorithm = env.get("CAREPAY_JWT_ALGORITHM") or ("RS256" if path else "HS256")
    key = None
    if path is not None:
        if algorithm not in PUBLIC_KEY_ALGORITHMS:
            raise SettingsError(
                f"CAREPAY_JWT_ALGORITHM must be one of {PUBLIC_KEY_ALGORITHMS} with a public key"
            )
        try:
            with open(path, encoding="ascii") as pem:
                key = pem.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"CAREPAY_JWT_PUBLIC_KEY_FILE cannot be read: {exc}") from None
        try:
            jwt.get_algorithm_by_name(algorithm).prepare_key(key)
        except (jwt.InvalidKeyError, ValueError, TypeError):
            raise SettingsError(
                f"CAREPAY_JWT_PUBLIC_KEY_FILE does not hold a public key for {algorithm}"
            ) from None
    elif algorithm != "HS256":
        raise SettingsError("CAREPAY_JWT_ALGORITHM other than HS256 needs a public key file")
    return _Identity(
        jwt_public_key=key,
        jwt_algorithm=algorithm,
        jwt_issuer=env.get("CAREPAY_JWT_ISSUER") or None,
        jwt_audience=env.get("CAREPAY_JWT_AUDIENCE") or None,
    )


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    database_url: str = "sqlite://carepay.sqlite3"
    redis_url: str | None = None
    secret_key: str = DEV_SECRET_KEY
    env: str = "development"
    allowed_origins: tuple[str, ...] = (
        "http://127.0.0.1:8000",
        "http://localhost:8000",
    )
    log_level: str = "INFO"
    redis_prefix: str = "carepay"
    ach_settlement_days: int = 2
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5000
    max_query_cost: int = 100_000
    allow_get_queries: bool = False
    scheduler_enabled: bool = True
    scheduler_interval_seconds: int = 60
    reminder_days: tuple[int, ...] = (7, 1)
    autopay_notice_days: int = 3
    card_expiry_notice_days: int = 30
    subscription_queue_size: int = 256
    max_subscriptions_per_connection: int = 10
    relay_interval_ms: int = 50
    ws_keep_alive_seconds: int = 15
    ws_compression: bool = False
    timezone: str = "UTC"
    jwt_public_key: str | None = None
    jwt_algorithm: str = "HS256"
    jwt_issuer: str | None = None
    jwt_audience: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        """The service's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def production(self) -> bool:
        """Whether the service runs with production safety defaults."""
        return self.env == "production"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every CAREPAY_* variable."""
        env = os.environ if env is None else env
        environment = env.get("CAREPAY_ENV", "development")
        if environment not in ENVIRONMENTS:
            raise SettingsError(f"CAREPAY_ENV must be one of {ENVIRONMENTS}, got {environment!r}")
        secret = env.get("CAREPAY_SECRET_KEY") or DEV_SECRET_KEY
        if environment == "production" and secret == DEV_SECRET_KEY:
            raise SettingsError("CAREPAY_SECRET_KEY must be set to a real secret in production")
        if environment == "production" and len(secret) < 32:
            raise SettingsError("CAREPAY_SECRET_KEY must be at least 32 characters in production")
        settings = cls(
            database_url=env.get("CAREPAY_DATABASE_URL") or cls.database_url,
            redis_url=env.get("CAREPAY_REDIS_URL") or None,
            secret_key=secret,
            env=environment,
            allowed_origins=_origins(env),
            log_level=env.get("CAREPAY_LOG_LEVEL", "INFO").upper(),
            redis_prefix=env.get("CAREPAY_REDIS_PREFIX") or cls.redis_prefix,
            ach_settlement_days=_int(env, "CAREPAY_ACH_SETTLEMENT_DAYS", cls.ach_settlement_days),
            max_query_depth=_int(env, "CAREPAY_MAX_QUERY_DEPTH", cls.max_query_depth),
            max_aliases=_int(env, "CAREPAY_MAX_ALIASES", cls.max_aliases),
            max_tokens=_int(env, "CAREPAY_MAX_TOKENS", cls.max_tokens),
            max_query_cost=_int(env, "CAREPAY_MAX_QUERY_COST", cls.max_query_cost),
            allow_get_queries=_bool(env, "CAREPAY_ALLOW_GET_QUERIES", cls.allow_get_queries),
            scheduler_enabled=_bool(env, "CAREPAY_SCHEDULER_ENABLED", cls.scheduler_enabled),
            scheduler_interval_seconds=_int(
                env, "CAREPAY_SCHEDULER_INTERVAL", cls.scheduler_interval_seconds
            ),
            reminder_days=_days(env, "CAREPAY_REMINDER_DAYS", cls.reminder_days),
            autopay_notice_days=_int(env, "CAREPAY_AUTOPAY_NOTICE_DAYS", cls.autopay_notice_days),
            card_expiry_notice_days=_int(
                env, "CAREPAY_CARD_EXPIRY_NOTICE_DAYS", cls.card_expiry_notice_days
            ),
            subscription_queue_size=_int(
                env, "CAREPAY_SUBSCRIPTION_QUEUE_SIZE", cls.subscription_queue_size
            ),
            max_subscriptions_per_connection=_int(
                env, "CAREPAY_MAX_SUBSCRIPTIONS", cls.max_subscriptions_per_connection
            ),
            relay_interval_ms=_int(env, "CAREPAY_RELAY_INTERVAL_MS", cls.relay_interval_ms),
            ws_keep_alive_seconds=_int(
                env, "CAREPAY_WS_KEEP_ALIVE_SECONDS", cls.ws_keep_alive_seconds
            ),
            ws_compression=_bool(env, "CAREPAY_WS_COMPRESSION", cls.ws_compression),
            timezone=_timezone(env),
            **_identity_provider(env),
        )
        if settings.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise SettingsError(f"CAREPAY_LOG_LEVEL is not a log level: {settings.log_level!r}")
        for name, days in (
            ("CAREPAY_AUTOPAY_NOTICE_DAYS", settings.autopay_notice_days),
            ("CAREPAY_CARD_EXPIRY_NOTICE_DAYS", settings.card_expiry_notice_days),
        ):
            if not 0 <= days <= MAX_NOTICE_DAYS:
                raise SettingsError(f"{name} must be 0 to {MAX_NOTICE_DAYS} days, got {days}")
        if settings.relay_interval_ms < 1 or settings.ws_keep_alive_seconds < 1:
            raise SettingsError("relay interval and WebSocket keep-alive must be at least 1")
        if settings.scheduler_interval_seconds < 1:
            raise SettingsError("CAREPAY_SCHEDULER_INTERVAL must be at least 1 second")
        if settings.subscription_queue_size < 1 or settings.max_subscriptions_per_connection < 1:
            raise SettingsError("subscription queue size and subscription cap must be >= 1")
        if not 0 <= settings.ach_settlement_days <= MAX_SETTLEMENT_DAYS:
            raise SettingsError(
                f"CAREPAY_ACH_SETTLEMENT_DAYS must be 0 to {MAX_SETTLEMENT_DAYS} business days"
            )
        for name, limit in (
            ("CAREPAY_MAX_QUERY_DEPTH", settings.max_query_depth),
            ("CAREPAY_MAX_ALIASES", settings.max_aliases),
            ("CAREPAY_MAX_TOKENS", settings.max_tokens),
            ("CAREPAY_MAX_QUERY_COST", settings.max_query_cost),
        ):
            if limit < 1:
                raise SettingsError(f"{name} must be at least 1, got {limit}")
        _check_urls(settings)
        return settings


def _check_urls(settings: Settings) -> None:
    """The database and Redis URLs name schemes the service can open (SettingsError naming
    the variable otherwise, not a driver's traceback at start-up)."""
    from tortoise.backends.base.config_generator import expand_db_url
    from tortoise.exceptions import ConfigurationError

    try:
        engine = expand_db_url(settings.database_url)["engine"]
    except (ConfigurationError, ValueError) as exc:
        raise SettingsError(
            f"CAREPAY_DATABASE_URL is not a database URL we can open: {exc}"
        ) from None
    if not engine.endswith(("sqlite", "asyncpg")):  # what Tortoise opens with our drivers
        raise SettingsError(
            "CAREPAY_DATABASE_URL must be a sqlite:// or postgres:// URL (driver asyncpg)"
        )
    if settings.redis_url is not None:
        scheme = settings.redis_url.partition("://")[0]
        if scheme not in ("redis", "rediss", "unix"):
            raise SettingsError("CAREPAY_REDIS_URL must be a redis://, rediss:// or unix:// URL")
