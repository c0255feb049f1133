"""Kill a subscriber mid-stream while payments go on; resuming from its cursor loses nothing."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from models import OutboxEvent
from resolvers.event_log import event_cursor, last_id
from resolvers.events import PAYMENTS_TOPIC
from tests.e2e.events_support import events_server, household, pay
from tests.e2e.server import ROOT, ServerProcess
from tests.event_helpers import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(db: str) -> Iterator[ServerProcess]:
    with events_server(db) as running:
        yield running


async def _subscriber(server: ServerProcess, after: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.e2e.event_subscriber",
        server.ws_url,
        server.token("alex@example.org"),
        after,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )


async def _read(process: asyncio.subprocess.Process, into: list[dict[str, Any]]) -> None:
    """Append every line the process prints until its output ends."""
    assert process.stdout is not None
    while raw := await process.stdout.readline():
        into.append(json.loads(raw))


def _paying(task: asyncio.Future[None]) -> bool:
    """True while the payer runs; its own failure (a refused payment) if it stopped."""
    if task.done():
        task.result()
        raise AssertionError("the payer stopped")
    return True


async def test_a_killed_subscriber_resumes_from_its_last_cursor_and_gets_every_event_once(
    server: ServerProcess,
) -> None:
    payers = await household()
    start = event_cursor(await last_id())
    first_run: list[dict[str, Any]] = []
    second_run: list[dict[str, Any]] = []

    async with httpx.AsyncClient(timeout=30) as client:
        paid: list[str] = []
        stop = asyncio.Event()

        async def keep_paying() -> None:
            while not stop.is_set():
                paid.append((await pay(client, server, payers["alex"]))["id"])
                await asyncio.sleep(0.03)  # pacing, so payments span both subscriber runs

        first = await _subscriber(server, start)
        reading = asyncio.ensure_future(_read(first, first_run))
        paying = asyncio.ensure_future(keep_paying())
        await wait_until(lambda: _paying(paying) and len(first_run) >= 12, within=90)
        first.kill()  # SIGKILL mid-stream: no goodbye, and payments go on
        await first.wait()
        await reading  # whatever it printed before it died is what it received
        killed_at = len(paid)

        second = await _subscriber(server, first_run[-1]["cursor"])
        reading = asyncio.ensure_future(_read(second, second_run))
        await wait_until(lambda: _paying(paying) and len(paid) >= killed_at + 15, within=90)
        stop.set()
        await paying

    try:
        expected = [
            event_cursor(int(i))
            for (i,) in await OutboxEvent.filter(topic=PAYMENTS_TOPIC)
            .order_by("id")
            .values_list("id")
        ]
        assert len(expected) == 2 * len(paid)
        await wait_until(lambda: len(first_run) + len(second_run) >= len(expected), within=60)
        await asyncio.sleep(0.3)  # a duplicate, if any, would come now
    finally:
        second.kill()
        await second.wait()
        await reading

    received = first_run + second_run
    assert [line["cursor"] for line in received] == expected
    created = [line["payment"]["id"] for line in received if line["type"] == "PAYMENT_CREATED"]
    assert created == paid
