"""Autopay business days: weekends and US federal holidays, as observed, move a charge."""

from __future__ import annotations

from datetime import date

import pytest

from resolvers.business_days import is_business_day, is_federal_holiday, next_business_day


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2026, 1, 1), "New Year's Day"),
        (date(2026, 6, 19), "Juneteenth"),
        (date(2026, 7, 3), "Independence Day observed on Friday (July 4 is a Saturday)"),
        (date(2026, 10, 12), "Columbus Day: federal, though stock markets open"),
        (date(2026, 11, 11), "Veterans Day: federal, though stock markets open"),
        (date(2026, 11, 26), "Thanksgiving"),
        (date(2027, 7, 5), "Independence Day observed on Monday (July 4 is a Sunday)"),
        (date(2027, 12, 31), "New Year's Day 2028 observed on Friday"),
    ],
)
def test_federal_holidays_are_not_business_days(day: date, why: str) -> None:
    assert is_federal_holiday(day), why
    assert not is_business_day(day), why


def test_ordinary_weekdays_are_business_days_and_weekends_are_not() -> None:
    assert is_business_day(date(2026, 11, 20))  # a Friday
    assert not is_business_day(date(2026, 11, 21))  # Saturday
    assert not is_business_day(date(2026, 11, 22))  # Sunday
    assert is_business_day(date(2026, 11, 27))  # the Friday after Thanksgiving is not federal


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 20), date(2026, 11, 20)),  # a business day stays put
        (date(2026, 11, 21), date(2026, 11, 23)),  # Saturday -> Monday
        (date(2026, 11, 26), date(2026, 11, 27)),  # Thanksgiving -> Friday
        (date(2026, 7, 3), date(2026, 7, 6)),  # observed Friday, weekend -> Monday
        (date(2026, 12, 25), date(2026, 12, 28)),  # Christmas Friday, weekend -> Monday
        (date(2027, 12, 31), date(2028, 1, 3)),  # across the year: observed Friday -> Monday
        (date(2026, 10, 10), date(2026, 10, 13)),  # Saturday, Sunday, Columbus Day -> Tuesday
    ],
)
def test_next_business_day(day: date, expected: date) -> None:
    assert next_business_day(day) == expected
