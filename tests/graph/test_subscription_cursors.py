"""Every subscription refuses an `after` cursor that is not one of ours with one clear error."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator
from typing import Any

from graph.context import Context
from models.enums import Role
from resolvers.access import load_viewer
from resolvers.events import EventHub
from tests import factories
from tests.event_helpers import running_hub, take
from tests.graph.client import SCHEMA, SETTINGS
from tests.graph.households import shape

SUBSCRIPTIONS = {
    "paymentEvents": "subscription($after: String) { paymentEvents(after: $after) { cursor } }",
    "paymentStatusFeed": (
        "subscription($after: String) { paymentStatusFeed(after: $after) { cursor } }"
    ),
    "reminders": "subscription($after: String) { reminders(after: $after) { id } }",
}
# Outbox ids are 64-bit: past them, and what is not a number of ours at all.
BAD_EVENT_IDS = ["1" + "0" * 30, str(2**63), "-1", "1e3", "1.5", " 5", "+5", "5_0", "\u0665"]
BAD_EVENT_IDS += ["1" * 5000]
# Notification cursors are [id, id] JSON, like a notifications connection's.
BAD_NOTIFICATION_CURSORS = [
    "[1, " + "1" + "0" * 30 + "]",
    "[" + "1" + "0" * 30 + ", 1]",
    "[2147483648, 2147483648]",
    "[Infinity, Infinity]",
    "[NaN, 1]",
    "[1.5, 1]",
    "[true, true]",
    "[0, 0]",
]


def _encode(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def _first(hub: EventHub, document: str, after: str) -> Any:
    viewer = await load_viewer("billing@example.org", Role.STAFF.value)
    context = Context(settings=SETTINGS, viewer=viewer, events=hub)
    stream = await SCHEMA.subscribe(
        document, variable_values={"after": after}, context_value=context
    )
    assert isinstance(stream, AsyncGenerator)
    try:
        [result] = await take(stream, 1)
    finally:
        await stream.aclose()
    return shape(result)


async def test_bad_cursors_are_refused_before_the_stream_starts(db: str) -> None:
    # given: a staff member, who may subscribe to every feed
    await factories.member("billing@example.org", staff=True)
    bad = {
        "paymentEvents": [_encode(f"outbox:{n}") for n in BAD_EVENT_IDS],
        "paymentStatusFeed": [_encode(f"outbox:{n}") for n in BAD_EVENT_IDS],
        "reminders": [_encode(raw) for raw in BAD_NOTIFICATION_CURSORS] + ["zz" * 50_000],
    }
    async with running_hub() as hub:
        for name, document in SUBSCRIPTIONS.items():
            # when
            malformed = await _first(hub, document, "not-a-cursor")
            answers = {after: await _first(hub, document, after) for after in bad[name]}
            # then: one coded error, the same as for any malformed cursor
            assert malformed[1][0][1] == "BAD_USER_INPUT", malformed
            for after, answer in answers.items():
                assert answer == malformed, (name, after[:80])
