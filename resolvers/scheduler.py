"""The scheduler's jobs, run once as of a given time.

ACH settlement, the reconciler, reminders, then autopay charges (reminders first, so
an AUTOPAY_UPCOMING sent on the charge day itself precedes the charge; the charge job
announces terms not yet announced itself, before charging them). Every job
is safe to run on every worker at once and to repeat: each piece of work is claimed
through a unique key in the database, so no leader is needed. A job that raises is
logged and reported; the jobs after it still run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from resolvers.autopay_charges import run_autopay
from resolvers.autopay_report import AutopayReport
from resolvers.reminders import ReminderReport, send_reminders
from resolvers.settlement import ReconcileReport, SettlementReport, reconcile, settle_due
from settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class RunReport:
    """What one scheduler run did; `errors` names the jobs that raised."""

    at: datetime
    settlement: SettlementReport | None = None
    reconciliation: ReconcileReport | None = None
    reminders: ReminderReport | None = None
    autopay: AutopayReport | None = None
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [self.settlement, self.reconciliation, self.reminders, self.autopay]
        lines = [f"scheduler run at {self.at.isoformat()}"]
        lines += [str(part) for part in parts if part is not None]
        lines += [f"{job}: FAILED (see the log)" for job in self.errors]
        return "\n".join(lines)


async def run_once(
    at: datetime, *, settings: Settings | None = None, keys_until: datetime | None = None
) -> RunReport:
    """Run every job that is due at `at`; idempotency keys expired by `keys_until` (by
    `at` if None) are dropped."""
    settings = settings or Settings.from_env()
    report = RunReport(at=at)
    report.settlement = await _job(report, "ACH settlement", lambda: settle_due(at))
    report.reconciliation = await _job(
        report, "reconcile", lambda: reconcile(at, keys_until=keys_until)
    )
    report.reminders = await _job(
        report, "reminders", lambda: send_reminders(at, settings=settings)
    )
    report.autopay = await _job(report, "autopay", lambda: run_autopay(at))
    return report


async def _job(report: RunReport, name: str, job: Callable[[], Awaitable[T]]) -> T | None:
    try:
        return await job()
    except Exception:
        log.exception("scheduler job %s failed at %s", name, report.at.isoformat())
        report.errors.append(name)
        return None
