"""Group commit: calls that arrive together share one transaction (or one statement).

The first call starts a batch at once; calls that arrive while it runs wait and go
together in the next one, so a lone call waits for nothing and a busy server pays
for one transaction, and a few multi-row statements, per batch instead of per call.
Each item's result, or the exception to raise in its caller, comes back on its own.
If a batch fails as a whole, its transaction has rolled back and nothing of it was
kept; each of its items is then run in a batch of its own, so a bad item costs the
others time, never their result. A batch that lost a race with another transaction
(`retry_if`: a deadlock, say) is first run again as it was.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")
Batch = Callable[[Sequence[Item]], Awaitable[Sequence[Result | Exception]]]


@dataclass
class _Queue(Generic[Item, Result]):
    waiting: list[tuple[Item, asyncio.Future[Result]]] = field(default_factory=list)
    runner: asyncio.Task[None] | None = None


class GroupCommit(Generic[Item, Result]):
    """Runs `batch` over the items of concurrent `submit` calls, one batch at a time."""

    def __init__(
        self,
        name: str,
        batch: Batch[Item, Result],
        *,
        max_items: int = 64,
        retry_if: Callable[[Exception], bool] = lambda _: False,
        attempts: int = 3,
    ) -> None:
        self._name = name
        self._batch = batch
        self._max_items = max_items
        self._retry_if = retry_if
        self._attempts = attempts
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[Item, Result]] = (
            weakref.WeakKeyDictionary()
        )

    async def submit(self, item: Item) -> Result:
        """The item's result once its batch has committed (or its exception)."""
        loop = asyncio.get_running_loop()
        queue = self._queues.setdefault(loop, _Queue())
        future: asyncio.Future[Result] = loop.create_future()
        queue.waiting.append((item, future))
        if queue.runner is None:
            queue.runner = loop.create_task(self._drain(queue), name=f"group commit {self._name}")
        return await future

    async def _drain(self, queue: _Queue[Item, Result]) -> None:
        try:
            while queue.waiting:
                taken = queue.waiting[: self._max_items]
                del queue.waiting[: self._max_items]
                # A caller gone before its batch began asked for nothing to be done.
                batch = [(item, future) for item, future in taken if not future.done()]
                if batch:
                    await self._run(batch)
        finally:
            queue.runner = None
            for _, future in queue.waiting:
                future.cancel()  # only reached when the loop itself is going away
            queue.waiting.clear()

    async def _run(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        items = [item for item, _ in batch]
        try:
            outcomes = await self._outcomes(items)
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{self._name}: {len(outcomes)} outcomes for {len(batch)}")
        except Exception as exc:  # a broken batch function: its callers hear of it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                if not isinstance(outcome, Exception):
                    log.warning("%s: a caller left during its batch; its part stands", self._name)
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    async def _outcomes(self, items: list[Item]) -> Sequence[Result | Exception]:
        try:
            return await self._attempt(items)
        except Exception as exc:
            if len(items) == 1:
                return [exc]
            log.warning(
                "%s: a batch of %d failed (%r); running each on its own",
                self._name,
                len(items),
                exc,
            )
        alone: list[Result | Exception] = []
        for item in items:
            try:
                alone.extend(await self._attempt([item]))
            except Exception as exc:
                alone.append(exc)
        return alone

    async def _attempt(self, items: list[Item]) -> Sequence[Result | Exception]:
        """The batch, run again while it fails in a way `retry_if` calls transient."""
        for attempt in range(1, self._attempts):
            try:
                return await self._batch(items)
            except Exception as exc:
                if not self._retry_if(exc):
                    raise
                log.info("%s: try %d of a batch lost a race (%r); again", self._name, attempt, exc)
        return await self._batch(items)
