"""The relay: a task per worker that publishes committed outbox rows, in order, on the broker.

With the in-process broker each worker relays the whole outbox to its own
subscribers. With Redis every worker starts from the shared relay cursor and the
broker publishes a batch only if nobody got there first, so each stretch goes out
once however many workers run. Subscribers never depend on the relay alone: they
re-read the outbox whenever a batch is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from adapters.broker import Batch, Broker
from resolvers.event_log import last_id, read_after

log = logging.getLogger(__name__)

_MAX_BACKOFF = 2.0


class Relay:
    """Polls the outbox every `interval` seconds and publishes what is new."""

    def __init__(self, broker: Broker, *, interval: float = 0.05, batch_size: int = 500) -> None:
        self.broker = broker
        self.interval = interval
        self.batch_size = batch_size
        self.cursor: int | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def step(self) -> int:
        """Publish the next batch of new rows, if any; how many rows were read."""
        shared = await self.broker.position()
        if self.cursor is None:
            # A fresh worker relays from now on: older rows are history, replayed on request.
            self.cursor = await last_id()
            if shared is not None and shared > self.cursor:
                # The shared cursor belongs to another outbox (a replaced database on the
                # same Redis prefix): left alone it would hold back every event up to it.
                log.error("relay cursor %s is past the outbox (%s); rewinding", shared, self.cursor)
                await self.broker.publish(Batch(after=shared, last=self.cursor, events=()))
                shared = await self.broker.position()
        start = self.cursor if shared is None else shared
        events = await read_after(start, limit=self.batch_size)
        if not events:
            self.cursor = max(self.cursor, start)
            return 0
        batch = Batch(after=start, last=events[-1].id, events=tuple(events))
        if await self.broker.publish(batch):
            log.debug("relayed outbox ids %s..%s", start + 1, batch.last)
        self.cursor = max(self.cursor, batch.last)
        return len(events)

    def wake(self) -> None:
        """Look at the outbox now rather than at the next tick (after a local commit)."""
        self._wake.set()

    def start(self) -> None:
        """Run the relay in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="carepay-relay")

    async def stop(self) -> None:
        """Stop the relay."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = self.interval
        while True:
            try:
                read = await self.step()
                backoff = self.interval
            except Exception as exc:  # the database or Redis is away: keep trying
                log.warning("relay step failed (%s); retrying in %.2fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            if read < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
                self._wake.clear()
