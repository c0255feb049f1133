"""A subscriber that stops reading: the others keep getting events at once, its server-side
queue stays bounded, and when it reads again it gets every event once, from the outbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from tortoise.transactions import in_transaction

from models.enums import Role
from resolvers.event_log import event_cursor, last_id
from resolvers.events import PAYMENTS_TOPIC
from resolvers.outbox import record_event
from tests.e2e.events_support import events_server, household
from tests.e2e.server import ServerProcess
from tests.e2e.stalled_ws import StalledSocket
from tests.e2e.ws_client import GraphQLSocket

pytestmark = pytest.mark.e2e
CHUNKS, PER_CHUNK = 60, 25
STALLED_SUBSCRIPTIONS = 5
FEED = "subscription Feed($after: String) { paymentStatusFeed(after: $after) { cursor } }"
# Wide frames (~1.5 KB) fill the stalled reader's socket after a few hundred events.
WIDE_FEED = (
    "subscription Wide($after: String) { paymentStatusFeed(after: $after) { cursor "
    + " ".join(f"t{n}: occurredAt" for n in range(29))
    + " } }"
)


@pytest.fixture
def server(db: str) -> Iterator[ServerProcess]:
    with events_server(db, CAREPAY_SUBSCRIPTION_QUEUE_SIZE="4") as running:
        yield running


async def _flood() -> tuple[list[str], float]:
    """CHUNKS transactions of PER_CHUNK payment events, paced so the relay sends many batches;
    their cursors and when the last one committed."""
    ids: list[int] = []
    committed_at = 0.0
    for _ in range(CHUNKS):
        async with in_transaction() as conn:
            for _ in range(PER_CHUNK):
                row = await record_event(
                    topic=PAYMENTS_TOPIC,
                    type="PAYMENT_PROCESSING",
                    payload={"status": "PROCESSING"},
                    using_db=conn,
                )
                ids.append(int(row.id))
        committed_at = time.monotonic()
        await asyncio.sleep(0.03)  # pacing (one relay batch per chunk), not waiting on events
    return [event_cursor(i) for i in ids], committed_at


async def test_a_stalled_subscriber_does_not_delay_others_and_catches_up_exactly_once(
    server: ServerProcess,
) -> None:
    await household()
    token = server.token("billing@example.org", role=Role.STAFF)
    after = event_cursor(await last_id())
    stalled = StalledSocket(server.ws_url)
    try:
        await stalled.handshake()
        await stalled.send(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        )
        assert (await stalled.receive())["type"] == "connection_ack"
        for n in range(STALLED_SUBSCRIPTIONS):
            await stalled.send(
                {
                    "id": f"wide{n}",
                    "type": "subscribe",
                    "payload": {"query": WIDE_FEED, "variables": {"after": after}},
                }
            )
        # From here on the stalled client reads nothing until the flood is over.
        async with GraphQLSocket.open(server.ws_url, token=token) as healthy:
            await healthy.subscribe("feed", FEED, {"after": after})
            flooding = asyncio.ensure_future(_flood())
            seen: list[str] = []
            async with asyncio.timeout(60):
                while len(seen) < CHUNKS * PER_CHUNK:
                    payload = await healthy.next_payload("feed", within=10)
                    seen.append(payload["data"]["paymentStatusFeed"]["cursor"])
            received_at = time.monotonic()
            written, committed_at = await flooding
            assert seen == written
            # The healthy reader kept pace: its last event came right after the last commit.
            assert received_at - committed_at < 1.0
        # The stalled subscriptions fell behind their cohort: their queues stopped growing.
        assert "behind its cohort; it goes on alone" in server.log()

        stalled_seen: dict[str, list[str]] = {f"wide{n}": [] for n in range(STALLED_SUBSCRIPTIONS)}
        async with asyncio.timeout(60):
            while sum(map(len, stalled_seen.values())) < len(written) * STALLED_SUBSCRIPTIONS:
                message = await stalled.receive(within=10)
                assert message["type"] == "next", message
                cursor = message["payload"]["data"]["paymentStatusFeed"]["cursor"]
                stalled_seen[message["id"]].append(cursor)
        assert all(got == written for got in stalled_seen.values())  # each once, in order
        with pytest.raises(TimeoutError):
            await stalled.receive(within=0.3)
    finally:
        stalled.close()
