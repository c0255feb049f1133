"""Event brokers: batches of outbox events fanned out to subscribers without ever blocking.

A batch says which stretch of the outbox it covers (`after < id <= last`), so a
subscriber that knows where it stands can tell a missed batch from ids that were
simply never committed. Each subscriber holds a bounded queue: when it overflows the
queue is emptied and the subscriber is marked lagging, which tells it to re-read the
outbox (the source of truth) from where it stands. The publisher never waits.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One outbox row as it travels between workers."""

    id: int
    topic: str
    type: str
    occurred_at: datetime
    account_id: int | None = None
    member_id: int | None = None
    payment_id: int | None = None
    notification_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**asdict(self), "occurred_at": self.occurred_at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """The event `to_dict` described."""
        return cls(**{**data, "occurred_at": datetime.fromisoformat(data["occurred_at"])})


@dataclass(frozen=True)
class Batch:
    """Every committed outbox row with `after < id <= last` (rolled-back ids leave holes)."""

    after: int
    last: int
    events: tuple[Event, ...]

    def to_json(self) -> str:
        """The batch as one JSON message."""
        events = [e.to_dict() for e in self.events]
        return json.dumps({"after": self.after, "last": self.last, "events": events})

    @classmethod
    def from_json(cls, raw: str | bytes) -> Batch:
        """The batch `to_json` wrote."""
        data = json.loads(raw)
        events = tuple(Event.from_dict(e) for e in data["events"])
        return cls(after=int(data["after"]), last=int(data["last"]), events=events)


class Subscription:
    """One subscriber's bounded queue of batches on a broker."""

    def __init__(self, hub: LocalFanout, maxsize: int) -> None:
        self._hub = hub
        self._queue: deque[Batch] = deque()
        self._maxsize = max(1, maxsize)
        self._ready = asyncio.Event()
        self.lagging = False
        self.overflows = 0

    def offer(self, batch: Batch) -> None:
        """Queue a batch, or drop the queue and mark the subscriber lagging when it is full."""
        if len(self._queue) >= self._maxsize:
            if not self.lagging:
                log.warning(
                    "a subscriber fell %d batches behind; it will re-read the outbox", self._maxsize
                )
            self._queue.clear()
            self.overflows += 1
            self.lagging = True
        else:
            self._queue.append(batch)
        self._ready.set()

    def resync(self) -> None:
        """Tell the subscriber that batches may have been lost, so it re-reads the outbox."""
        self._queue.clear()
        self.lagging = True
        self._ready.set()

    async def wait(self) -> list[Batch] | None:
        """The queued batches, once there are any; None when the outbox must be re-read."""
        if not self._queue and not self.lagging:
            self._ready.clear()
            await self._ready.wait()
        if self.lagging:
            self.lagging = False
            self._queue.clear()
            return None
        batches = list(self._queue)
        self._queue.clear()
        return batches

    @property
    def queued(self) -> int:
        """How many batches wait in the queue."""
        return len(self._queue)

    def close(self) -> None:
        """Stop receiving batches."""
        self._hub.discard(self)


class LocalFanout:
    """The subscribers of one process, each offered every batch without waiting.

    `prepare`, when set, is awaited with each batch before the subscribers get it: what
    all of them would otherwise look up one after another (who may see each event, the
    rows it is about) is then looked up once, in a query or two.
    """

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()
        self.prepare: Callable[[Batch], Awaitable[None]] | None = None

    def subscribe(self, *, maxsize: int) -> Subscription:
        """A new subscriber that receives every batch delivered from now on."""
        subscription = Subscription(self, maxsize)
        self._subscribers.add(subscription)
        return subscription

    def discard(self, subscription: Subscription) -> None:
        """Forget a subscriber."""
        self._subscribers.discard(subscription)

    def deliver(self, batch: Batch) -> None:
        """Offer a batch to every subscriber."""
        for subscription in list(self._subscribers):
            subscription.offer(batch)

    async def prepare_and_deliver(self, batch: Batch) -> None:
        """Let `prepare` look ahead for the subscribers (if there are any), then deliver."""
        if self.prepare is not None and self._subscribers:
            try:
                await self.prepare(batch)
            except Exception as exc:  # each subscriber looks up what it needs itself
                log.warning(
                    "preparing outbox ids %s..%s failed: %s", batch.after + 1, batch.last, exc
                )
        self.deliver(batch)

    def resync(self) -> None:
        """Make every subscriber re-read the outbox."""
        for subscription in list(self._subscribers):
            subscription.resync()

    def subscriptions(self) -> list[Subscription]:
        """The current subscribers."""
        return list(self._subscribers)

    def __len__(self) -> int:
        return len(self._subscribers)


class Broker(Protocol):
    """Carries outbox batches from the relay to the subscribers of every worker."""

    local: LocalFanout

    async def start(self) -> None:
        """Connect (in the background when the broker is remote)."""

    async def close(self) -> None:
        """Disconnect."""

    async def position(self) -> int | None:
        """The last outbox id published by any worker, or None when each relays for itself."""

    async def publish(self, batch: Batch) -> bool:
        """Publish unless another worker already published from `batch.after`; True if sent."""

    def subscribe(self, *, maxsize: int) -> Subscription:
        """A subscriber of this process."""


class InProcessBroker:
    """The embedded broker: the relay of this process feeds this process's subscribers."""

    def __init__(self) -> None:
        self.local = LocalFanout()

    async def start(self) -> None:
        """Nothing to connect."""

    async def close(self) -> None:
        """Nothing to disconnect."""

    async def position(self) -> int | None:
        """Every process relays the outbox for itself."""
        return None

    async def publish(self, batch: Batch) -> bool:
        """Offer the batch to every local subscriber."""
        await self.local.prepare_and_deliver(batch)
        return True

    def subscribe(self, *, maxsize: int) -> Subscription:
        """A subscriber of this process."""
        return self.local.subscribe(maxsize=maxsize)
