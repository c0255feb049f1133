"""Which payment subscriptions share a cohort: live ones of one viewer and document, and
resumed ones whose cursor comes in a variable used for nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from graph.context import Context
from graph.sharing import sharing
from models.enums import Role
from resolvers.access import load_viewer
from resolvers.event_log import event_cursor
from resolvers.events import EventHub
from tests import factories
from tests.event_helpers import running_hub
from tests.graph.client import SETTINGS

EVENTS = "subscription E($after: String) { paymentEvents(after: $after) { cursor type } }"


def _payload(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"query": query, "variables": variables, "operationName": None}


async def _context(hub: EventHub, email: str, role: Role = Role.MEMBER) -> Context:
    return Context(settings=SETTINGS, viewer=await load_viewer(email, role.value), events=hub)


async def test_live_and_resumed_subscriptions_of_one_viewer_and_document_share_a_key(
    db: str,
) -> None:
    await factories.member("alex@example.org")
    async with running_hub() as hub:
        context = await _context(hub, "alex@example.org")
        absent = sharing(context, _payload(EVENTS))
        null = sharing(context, _payload(EVENTS, {"after": None}))
        resumed = sharing(context, _payload(EVENTS, {"after": event_cursor(42)}))

    assert absent is not None and null is not None and resumed is not None
    assert absent.key == null.key == resumed.key
    assert (absent.after, null.after, resumed.after) == (None, None, 42)
    assert resumed.live["variables"] == {"after": None}  # the cohort runs it live
    assert resumed.payload["variables"] == {"after": event_cursor(42)}  # caught up as asked


async def test_other_viewers_and_documents_get_other_keys(db: str) -> None:
    await factories.member("alex@example.org")
    await factories.member("sam@example.org")
    await factories.member("billing@example.org", staff=True)
    async with running_hub() as hub:
        alex = sharing(await _context(hub, "alex@example.org"), _payload(EVENTS))
        sam = sharing(await _context(hub, "sam@example.org"), _payload(EVENTS))
        other = sharing(
            await _context(hub, "alex@example.org"),
            _payload(EVENTS.replace("cursor type", "cursor status")),
        )
        staff = sharing(
            await _context(hub, "billing@example.org", Role.STAFF),
            _payload("subscription { paymentStatusFeed { cursor } }"),
        )

    assert alex is not None and sam is not None and other is not None and staff is not None
    assert len({alex.key, sam.key, other.key, staff.key}) == 4


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        # a cursor written into the document
        (
            'subscription { paymentEvents(after: "b3V0Ym94OjQy") { cursor } }',
            None,
        ),
        # the cursor's variable also pages a nested list: the frames would differ
        (
            "subscription E($after: String) { paymentEvents(after: $after) { cursor "
            "payment { bill { account { payments(after: $after) { totalCount } } } } } }",
            {"after": event_cursor(42)},
        ),
        # a default cursor: leaving the variable out does not make it live
        (
            'subscription E($after: String = "b3V0Ym94OjQy") '
            "{ paymentEvents(after: $after) { cursor } }",
            None,
        ),
        # a required cursor: the cohort could not run it with the cursor null
        (
            "subscription E($after: String!) { paymentEvents(after: $after) { cursor } }",
            {"after": event_cursor(42)},
        ),
        # not a cursor of ours, or not a string: the ordinary path reports it
        (EVENTS, {"after": "not-a-cursor"}),
        (EVENTS, {"after": 42}),
        # not a payment subscription
        ("subscription { reminders { id } }", None),
        ("query { viewer { id } }", None),
        ("subscription {", None),
    ],
)
async def test_these_subscriptions_run_alone(
    db: str, query: str, variables: dict[str, Any] | None
) -> None:
    await factories.member("alex@example.org")
    async with running_hub() as hub:
        context = await _context(hub, "alex@example.org")
        assert sharing(context, _payload(query, variables)) is None
