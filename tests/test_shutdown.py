"""Shutdown: requests in flight and the scheduler's run end before the database closes."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette

import app as app_module
from resolvers.to_the_end import in_flight, to_the_end
from settings import Settings

GRACE = 0.05


class Scheduler:
    """Stands in for SchedulerLoop: its stop is slow, and fails if told to."""

    fails = False

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def start(self) -> None:
        pass

    async def stop(self, grace: float) -> None:
        await asyncio.sleep(grace)
        steps.append("scheduler stopped")
        if Scheduler.fails:
            raise asyncio.CancelledError  # as when its run's autopay payment was cut off


steps: list[str] = []


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Starlette:
    async def opened(_: str) -> None:
        return None

    async def closed() -> None:
        steps.append("database closed")

    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    steps.clear()
    monkeypatch.setattr(app_module, "init_db", opened)
    monkeypatch.setattr(app_module, "check_db", ready)
    monkeypatch.setattr(app_module, "close_db", closed)
    monkeypatch.setattr(app_module, "database_status", ready)
    monkeypatch.setattr(app_module, "SchedulerLoop", Scheduler)
    monkeypatch.setattr(app_module, "PAYMENTS_GRACE_SECONDS", GRACE)
    monkeypatch.setattr(app_module, "quiet_collector", lambda: None)
    monkeypatch.setattr(Scheduler, "fails", False)
    return app_module.create_app(Settings.from_env({"CAREPAY_SCHEDULER_ENABLED": "1"}))


async def _payment(seconds: float) -> None:
    try:
        await asyncio.sleep(seconds)
        steps.append("payment finished")
    except asyncio.CancelledError:
        steps.append("payment cut off")
        raise


@pytest.mark.parametrize(
    ("seconds", "ending"), [(GRACE / 5, "payment finished"), (60, "payment cut off")]
)
async def test_requests_in_flight_end_before_the_database_closes(
    server: Starlette, seconds: float, ending: str
) -> None:
    async with server.router.lifespan_context(server):
        caller = asyncio.create_task(to_the_end(_payment(seconds)))
        await asyncio.sleep(0)
        caller.cancel()  # its caller left; the payment goes on

    assert sorted(steps[:2]) == sorted([ending, "scheduler stopped"])
    assert steps[2:] == ["database closed"]
    assert in_flight() == 0


async def test_the_database_closes_even_if_the_scheduler_fails_to_stop(
    server: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    Scheduler.fails = True

    async with server.router.lifespan_context(server):
        pass

    assert steps == ["scheduler stopped", "database closed"]
    assert any("shutdown" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
