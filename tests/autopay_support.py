"""Running the autopay job as the scheduler would, on a given day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from adapters.clock import FixedClock, set_clock
from resolvers.autopay_charges import run_autopay
from resolvers.autopay_report import AutopayReport


async def run_autopay_on(day: date) -> AutopayReport:
    """The job as the scheduler runs it on `day` at 09:00 UTC (the clock moved there)."""
    at = datetime.combine(day, time(9), UTC)
    set_clock(FixedClock(at))
    return await run_autopay(at)
