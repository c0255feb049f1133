"""A subscriber OS process for kill-and-resume tests: one JSON line per payment event.

    python -m tests.e2e.event_subscriber WS_URL TOKEN [AFTER_CURSOR]

Prints {"cursor", "type", "payment"} for every paymentEvents result, flushed at once,
until it is killed.
"""

from __future__ import annotations

import asyncio
import json
import sys

from tests.e2e.events_support import PAYMENT_EVENTS
from tests.e2e.ws_client import GraphQLSocket


async def main(url: str, token: str, after: str | None) -> None:
    async with GraphQLSocket.open(url, token=token) as ws:
        await ws.subscribe("events", PAYMENT_EVENTS, {"after": after})
        while True:
            event = (await ws.next_payload("events", within=3600))["data"]["paymentEvents"]
            line = {"cursor": event["cursor"], "type": event["type"], "payment": event["payment"]}
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
