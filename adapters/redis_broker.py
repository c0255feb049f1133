"""The Redis broker: outbox batches on one pub/sub channel, shared by every worker.

Relays of all workers race to publish; a Lua script publishes a batch only if the
shared relay cursor still stands where the batch starts, and moves it in the same
step, so each stretch of the outbox goes out once. Pub/sub is at-most-once, so
whenever the listener (re)subscribes it tells every local subscriber to re-read the
outbox: batches published while it was away are never silently lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol, cast

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from adapters.broker import Batch, LocalFanout, Subscription

log = logging.getLogger(__name__)


class _Closeable(Protocol):
    """PubSub.aclose, which redis-py types only from 8.2 on."""

    async def aclose(self) -> None: ...


# KEYS[1] = relay cursor, KEYS[2] = channel; ARGV = after, last, message.
_PUBLISH_FROM = """
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[3])
return 1
"""
_MAX_BACKOFF = 2.0


class RedisBroker:
    """Publishes batches to Redis and fans the channel out to this process's subscribers."""

    def __init__(self, url: str, *, prefix: str, first_backoff: float = 0.05) -> None:
        self.local = LocalFanout()
        self.channel = f"{prefix}:outbox"
        self.cursor_key = f"{prefix}:relay-cursor"
        self._url = url
        self._first_backoff = first_backoff
        self._redis = self._client(socket_timeout=2)
        self._publish_from = self._redis.register_script(_PUBLISH_FROM)
        self._listener: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    def _client(self, *, socket_timeout: float | None) -> Redis:
        # Fail fast while Redis is away; the relay and the listener retry with backoff.
        return Redis.from_url(
            self._url,
            socket_connect_timeout=1,
            socket_timeout=socket_timeout,
            socket_keepalive=True,
            retry=Retry(NoBackoff(), 0),
        )

    async def start(self) -> None:
        """Start listening in the background; Redis need not be up yet."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="carepay-redis-listener")

    async def close(self) -> None:
        """Stop listening and disconnect."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._redis.aclose()

    async def position(self) -> int | None:
        """The last outbox id any worker published (None before the first, or after a flush)."""
        raw = await self._redis.get(self.cursor_key)
        return None if raw is None else int(raw)

    async def publish(self, batch: Batch) -> bool:
        """Publish the batch if the shared cursor is still at `batch.after`; True if sent."""
        keys = [self.cursor_key, self.channel]
        sent = await self._publish_from(keys=keys, args=[batch.after, batch.last, batch.to_json()])
        return bool(sent)

    def subscribe(self, *, maxsize: int) -> Subscription:
        """A subscriber of this process."""
        return self.local.subscribe(maxsize=maxsize)

    async def _listen(self) -> None:
        backoff = self._first_backoff
        while True:
            client = self._client(socket_timeout=None)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        # Anything published while we were not subscribed is gone from
                        # the channel, but not from the outbox.
                        log.info("subscribed to %s", self.channel)
                        self.subscribed.set()
                        self.local.resync()
                        backoff = self._first_backoff
                    elif message["type"] == "message":
                        await self.local.prepare_and_deliver(Batch.from_json(message["data"]))
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                log.warning("Redis listener lost (%s); retrying in %.2fs", exc, backoff)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await cast(_Closeable, pubsub).aclose()
                    await client.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)
