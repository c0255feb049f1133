"""Argument parsing of the `carepay` command."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pytest

from cli import _iso_time


def test_run_once_times_are_one_instant_however_they_are_written() -> None:
    west = _iso_time("2026-12-06T20:00:00-08:00")
    utc = _iso_time("2026-12-07T04:00:00+00:00")

    assert west == utc == datetime(2026, 12, 7, 4, tzinfo=UTC)
    assert west.tzinfo is UTC and west.date() == utc.date()


@pytest.mark.parametrize("value", ["2026-12-07T04:00:00", "tomorrow", ""])
def test_run_once_refuses_times_without_a_zone_or_that_are_not_times(value: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        _iso_time(value)
