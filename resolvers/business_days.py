"""Business days for autopay: weekdays that are not US federal holidays.

The `holidays` library's US calendar (federal holidays, `observed=True`) includes
both a holiday and the weekday it is observed on (Friday for a Saturday holiday,
Monday for a Sunday one), which is how the federal government closes. ACH
settlement uses the Federal Reserve calendar instead (models/business_days.py),
which does not observe Saturday holidays on the Friday before.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import holidays


@cache
def _federal_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("US", years=[year], observed=True))


def is_federal_holiday(day: date) -> bool:
    """Whether `day` is a US federal holiday or the weekday one is observed on."""
    return day in _federal_holidays(day.year)


def is_business_day(day: date) -> bool:
    """Whether `day` is a weekday that is not a US federal holiday."""
    return day.weekday() < 5 and not is_federal_holiday(day)


def next_business_day(day: date) -> date:
    """`day` itself if it is a business day, else the first business day after it."""
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def previous_business_day(day: date) -> date:
    """`day` itself if it is a business day, else the last business day before it."""
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day
