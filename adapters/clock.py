"""The one source of time, so tests and operators can move it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    """Tells the current time as a timezone-aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved; for tests and `run-once --at`."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        """The time the clock was set to."""
        return self._at

    def set(self, at: datetime) -> None:
        """Move the clock to `at`."""
        self._at = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by `delta`."""
        self._at += delta


_clock: Clock = SystemClock()


def get_clock() -> Clock:
    """The clock the service uses."""
    return _clock


def set_clock(clock: Clock) -> None:
    """Swap the service clock (tests, `scheduler run-once --at`)."""
    global _clock
    _clock = clock


def now() -> datetime:
    """The current UTC time from the service clock."""
    return _clock.now()


_zone: tzinfo = UTC


def set_timezone(zone: tzinfo) -> None:
    """The zone whose calendar dates are the service's days (CAREPAY_TIMEZONE)."""
    global _zone
    _zone = zone


def service_zone() -> tzinfo:
    """The zone whose calendar dates are the service's days."""
    return _zone


def local_date(at: datetime) -> date:
    """The service-zone calendar date of an instant: due dates, reminders and autopay days."""
    return at.astimezone(_zone).date()


def today() -> date:
    """Today's date in the service zone, from the service clock."""
    return local_date(_clock.now())
