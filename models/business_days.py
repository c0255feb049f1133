"""Banking days: ACH moves on weekdays that are not Federal Reserve holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache

import holidays


@cache
def _fed_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.financial_holidays("XFED", years=[year]))


def is_business_day(day: date) -> bool:
    """Whether the Federal Reserve settles ACH on this day."""
    return day.weekday() < 5 and day not in _fed_holidays(day.year)


def add_business_days(start: datetime, days: int, zone: tzinfo = UTC) -> datetime:
    """The same time of day in `zone`, `days` banking days after `start`'s date there.

    Days are counted on `zone`'s calendar (the service's, CAREPAY_TIMEZONE): a payment
    made on a Friday evening in New York is a Friday payment, though it is Saturday in
    UTC. A time of day that does not exist on the day reached (a DST gap) moves on by
    the gap, as `zoneinfo` resolves it."""
    local = start.astimezone(zone)
    day = local.date()
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            remaining -= 1
    moved = datetime.combine(day, local.time(), tzinfo=zone)
    return moved.astimezone(start.tzinfo)
