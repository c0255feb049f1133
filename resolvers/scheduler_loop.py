"""The scheduler inside `carepay serve`: run every job now, then every interval, until stopped.

Every worker runs its own loop; the jobs' unique keys make that safe (no leader).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from adapters.clock import now
from resolvers.scheduler import RunReport, run_once
from settings import Settings

log = logging.getLogger(__name__)


class SchedulerLoop:
    """A background task that calls `run_once(now())` every `scheduler_interval_seconds`."""

    def __init__(
        self, settings: Settings, *, on_report: Callable[[RunReport], None] | None = None
    ) -> None:
        self.settings = settings
        self.on_report = on_report
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop; its first run is right away."""
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="carepay-scheduler")

    async def stop(self, grace: float) -> None:
        """Let the current run finish (up to `grace` seconds), then end the loop; a run
        that takes longer (its database hung, say) is cut off, waited for `grace` again."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        finished, _ = await asyncio.wait({task}, timeout=grace)
        if not finished:
            log.warning("the scheduler's run did not end within %ss; cutting it off", grace)
            task.cancel()
            finished, _ = await asyncio.wait({task}, timeout=grace)
            if not finished:
                log.error("the scheduler's run did not unwind when cut off")
                return
        if not task.cancelled():
            task.result()  # its own failure, if any, for the caller to log

    async def _run(self) -> None:
        interval = self.settings.scheduler_interval_seconds  # at least 1 (settings.py)
        log.info("scheduler loop started, every %ss", interval)
        while not self._stop.is_set():
            try:
                report = await run_once(now(), settings=self.settings)
            except Exception:  # run_once isolates its jobs; this is a last resort
                log.exception("scheduler run failed")
            else:
                log.debug("%s", report)
                if self.on_report is not None:
                    self.on_report(report)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=interval)
        log.info("scheduler loop stopped")
