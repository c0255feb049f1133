"""One subscriber's stream: outbox replay merged with live batches, gap-free and once each.

The subscriber registers on the broker first (live batches queue up), then reads the
outbox after its cursor, then takes the queued and later batches. It keeps one number,
`position`: every outbox row up to it has been delivered or found not for this
subscriber. A batch that ends at or before `position` is old; one that starts after it
means something went missing (queue overflow, Redis outage, a relay that died), so
the subscriber re-reads the outbox from `position`, which is the source of truth.
Each event is checked against the reader's access at the moment it is delivered.

A `Window` lets a subscriber hand over between two streams without a gap or a
duplicate (graph/cohorts.py): a live stream can start at a given position, a resumed
one can stop once it has replayed up to a given position, and either tells how far it
has got.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

from adapters.broker import Batch, Broker, Event
from models.people import AccountAccess
from resolvers.event_log import last_id, read_after
from resolvers.memo import Memo

PAGE_SIZE = 200


@dataclass(frozen=True)
class Interest:
    """Which events a subscriber wants, and whose current access must allow each one."""

    topic: str
    account_id: int | None = None
    member_id: int | None = None
    reader_id: int | None = None  # None: staff, who may see every account

    def wants(self, event: Event) -> bool:
        """Whether the event is of the kind asked for (access is checked separately)."""
        return (
            event.topic == self.topic
            and (self.account_id is None or event.account_id == self.account_id)
            and (self.member_id is None or event.member_id == self.member_id)
        )


@dataclass
class Window:
    """Where a stream starts and stops, and the outbox id of the event it handed out last."""

    start: int | None = None  # a live stream: from this id (or `after`, if later)
    until: int | None = None  # a resumed stream: stop after replaying up to this id
    position: int | None = None


async def _holders(key: tuple[int, int]) -> frozenset[int]:
    """The members who may see the account right now (key: event id, account id)."""
    rows = await AccountAccess.filter(account_id=key[1], revoked_at__isnull=True).values_list(
        "member_id"
    )
    return frozenset(int(member_id) for (member_id,) in rows)


async def readable_accounts(member_id: int) -> list[int]:
    """The accounts a member may see right now."""
    rows = await AccountAccess.filter(member_id=member_id, revoked_at__isnull=True).values_list(
        "account_id"
    )
    return [int(account_id) for (account_id,) in rows]


class EventStream:
    """Follows the outbox for subscribers of this process."""

    def __init__(self, broker: Broker, *, queue_size: int, page_size: int = PAGE_SIZE) -> None:
        self.broker = broker
        self.queue_size = queue_size
        self.page_size = page_size
        # Asked once per event and worker, however many subscribers it reaches.
        self.audience: Memo[tuple[int, int], frozenset[int]] = Memo(_holders)

    async def prepare(self, batch: Batch) -> None:
        """Look up who may see each event of a batch in one query, before subscribers ask."""
        keys = [
            (event.id, event.account_id)
            for event in batch.events
            if event.account_id is not None
            and not self.audience.known((event.id, event.account_id))
        ]
        if not keys:
            return
        rows = await AccountAccess.filter(
            account_id__in={account for _, account in keys}, revoked_at__isnull=True
        ).values_list("account_id", "member_id")
        holders: defaultdict[int, set[int]] = defaultdict(set)
        for account_id, member_id in rows:
            holders[int(account_id)].add(int(member_id))
        for key in keys:
            self.audience.prime(key, frozenset(holders[key[1]]))

    async def allowed(self, interest: Interest, event: Event) -> bool:
        """Whether the event goes to this subscriber, by its kind and current access."""
        if not interest.wants(event):
            return False
        if interest.reader_id is None:
            return True
        if event.account_id is None:
            return False
        return interest.reader_id in await self.audience.get((event.id, event.account_id))

    async def replay(
        self, interest: Interest, after: int, upto: int
    ) -> AsyncGenerator[Event, None]:
        """The rows with `after < id <= upto` this subscriber may see, oldest first."""
        accounts = None
        if interest.reader_id is not None:
            accounts = await readable_accounts(interest.reader_id)
            if interest.account_id is not None:
                accounts = [a for a in accounts if a == interest.account_id]
            if not accounts:
                return
        elif interest.account_id is not None:
            accounts = [interest.account_id]
        while after < upto:
            page = await read_after(
                after,
                upto=upto,
                limit=self.page_size,
                topic=interest.topic,
                account_ids=accounts,
                member_id=interest.member_id,
            )
            for event in page:
                yield event
            if len(page) < self.page_size:
                return
            after = page[-1].id

    async def follow(self, interest: Interest, *, after: int | None) -> AsyncGenerator[Event, None]:
        """Events after outbox id `after` (None: from now), then live, each exactly once."""
        subscription = self.broker.subscribe(maxsize=self.queue_size)
        try:
            position = await last_id() if after is None else after
            behind = after is not None
            while True:
                if behind:
                    upto = await last_id()
                    async for event in self.replay(interest, position, upto):
                        position = event.id
                        yield event
                    position = max(position, upto)
                batches = await subscription.wait()
                behind = batches is None
                for batch in batches or ():
                    if batch.last <= position:
                        continue
                    if batch.after > position:
                        behind = True
                        break
                    for event in batch.events:
                        if event.id > position and await self.allowed(interest, event):
                            position = event.id
                            yield event
                    position = batch.last
        finally:
            subscription.close()

    async def within(
        self, interest: Interest, *, after: int | None, window: Window
    ) -> AsyncIterator[Event]:
        """`follow`, bounded by the window and noting in it the id of each event handed out."""
        if window.until is not None:
            start = after if after is not None else window.until
            source = self.replay(interest, start, window.until)
        else:
            starts = [p for p in (after, window.start) if p is not None]
            source = self.follow(interest, after=max(starts) if starts else None)
        async with aclosing(source):
            async for event in source:
                window.position = event.id
                yield event
