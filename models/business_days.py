"""Banking days: ACH moves on weekdays that are not Federal Reserve holidays."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

import holidays


@cache
def _fed_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.financial_holidays("XFED", years=[year]))


def is_business_day(day: date) -> bool:
    """Whether the Federal Reserve settles ACH on this day."""
    return day.weekday() < 5 and day not in _fed_holidays(day.year)


def add_business_days(start: datetime, days: int) -> datetime:
    """The same time of day, `days` banking days after `start`."""
    moved = start
    remaining = days
    while remaining > 0:
        moved += timedelta(days=1)
        if is_business_day(moved.date()):
            remaining -= 1
    return moved
