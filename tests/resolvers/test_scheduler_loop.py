"""The scheduler loop inside the server: runs right away, then every interval, off by a switch."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest

import app as app_module
from adapters.clock import FixedClock, set_clock
from models import Payment
from resolvers import scheduler_loop
from resolvers.scheduler import RunReport
from resolvers.scheduler_loop import SchedulerLoop
from settings import Settings
from tests import factories


async def test_the_loop_runs_on_start_and_stops_without_waiting_out_the_interval(
    db: str,
) -> None:
    jordan = await factories.member()
    acct = await factories.account(jordan)
    await factories.autopay(jordan, acct, await factories.card(jordan))
    bill = await factories.bill(acct, due_date=date(2026, 12, 10))
    set_clock(FixedClock(datetime.combine(date(2026, 12, 7), time(9), UTC)))
    reports: asyncio.Queue[RunReport] = asyncio.Queue()
    settings = replace(Settings.from_env({}), scheduler_interval_seconds=3600)
    loop = SchedulerLoop(settings, on_report=reports.put_nowait)

    loop.start()
    report = await asyncio.wait_for(reports.get(), timeout=30)
    await asyncio.wait_for(loop.stop(grace=5), timeout=5)

    assert report.at == datetime(2026, 12, 7, 9, tzinfo=UTC)
    assert report.autopay is not None and len(report.autopay.charged) == 1
    assert await Payment.filter(bill_id=bill.id).count() == 1
    assert reports.empty()


async def test_a_run_that_hangs_is_cut_off_when_the_loop_stops(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    began = asyncio.Event()
    cut_off = asyncio.Event()

    async def hangs(*_: object, **__: object) -> RunReport:
        began.set()
        try:
            await asyncio.sleep(3600)  # as a run on a database that never answers
        except asyncio.CancelledError:
            cut_off.set()
            raise
        raise AssertionError("not reached")

    monkeypatch.setattr(scheduler_loop, "run_once", hangs)
    loop = SchedulerLoop(Settings.from_env({}))
    loop.start()
    await asyncio.wait_for(began.wait(), timeout=5)

    await asyncio.wait_for(loop.stop(grace=0.05), timeout=5)

    assert cut_off.is_set()
    assert any("cutting it off" in r.getMessage() for r in caplog.records)


class Recorder:
    """Stands in for SchedulerLoop and records what the app did with it."""

    started = 0
    stopped = 0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def start(self) -> None:
        Recorder.started += 1

    async def stop(self, grace: float) -> None:
        Recorder.stopped += 1


@pytest.mark.parametrize(("enabled", "starts"), [(True, 1), (False, 0)])
async def test_the_server_starts_the_loop_only_when_enabled(
    monkeypatch: pytest.MonkeyPatch, enabled: bool, starts: int
) -> None:
    async def nothing(*_: object) -> None:
        return None

    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    monkeypatch.setattr(app_module, "init_db", nothing)
    monkeypatch.setattr(app_module, "check_db", nothing)
    monkeypatch.setattr(app_module, "close_db", nothing)
    monkeypatch.setattr(app_module, "database_status", ready)
    monkeypatch.setattr(app_module, "SchedulerLoop", Recorder)
    monkeypatch.setattr(Recorder, "started", 0)
    monkeypatch.setattr(Recorder, "stopped", 0)
    env = {"CAREPAY_SCHEDULER_ENABLED": "1" if enabled else "0"}
    starlette_app = app_module.create_app(Settings.from_env(env))

    async with starlette_app.router.lifespan_context(starlette_app):
        assert Recorder.started == starts

    assert Recorder.stopped == 1
