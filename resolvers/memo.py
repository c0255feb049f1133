"""Shared memos, so a thousand subscribers of one event cost one query or one execution."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Remembers the last `size` results of `load`; concurrent callers share one call."""

    def __init__(self, load: Callable[[K], Awaitable[V]], *, size: int = 4096) -> None:
        self._load = load
        self._size = size
        self._entries: OrderedDict[K, asyncio.Future[V]] = OrderedDict()

    async def get(self, key: K) -> V:
        """The remembered result for `key`, loading it once if needed."""
        future = self._entries.get(key)
        if future is None:
            future = asyncio.ensure_future(self._load(key))
            future.add_done_callback(lambda done: self._forget_failure(key, done))
            self._entries[key] = future
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        if future.done():
            return future.result()
        # Shielded: one caller giving up must not cancel the load the others wait for.
        return await asyncio.shield(future)

    def prime(self, key: K, value: V) -> None:
        """Remember `value` for `key` (loaded together with others), unless already known."""
        if key in self._entries:
            return
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        future.set_result(value)
        self._entries[key] = future
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def known(self, key: K) -> bool:
        """Whether a result for `key` is remembered or on its way."""
        return key in self._entries

    def _forget_failure(self, key: K, done: asyncio.Future[V]) -> None:
        if (done.cancelled() or done.exception() is not None) and self._entries.get(key) is done:
            del self._entries[key]


class Shared(Generic[K, V]):
    """The last `size` results by key, started by the first caller and awaited by the rest."""

    def __init__(self, *, size: int = 1024) -> None:
        self._size = size
        self._entries: OrderedDict[K, asyncio.Future[V]] = OrderedDict()

    def get(self, key: K) -> asyncio.Future[V] | None:
        """The result for `key` if some caller started it."""
        return self._entries.get(key)

    def start(self, key: K, work: Awaitable[V]) -> asyncio.Future[V]:
        """Run `work` as the result for `key`."""
        future = asyncio.ensure_future(work)
        self._entries[key] = future
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return future

    def __len__(self) -> int:
        return len(self._entries)


async def awaited(future: asyncio.Future[Any]) -> Any:
    """Wait for a shared result without cancelling it for the others when we give up."""
    return await asyncio.shield(future)
