"""A `reminders` subscriber receives what the scheduler sends: through the schema."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, date, datetime, time

from adapters.clock import FixedClock, set_clock
from graph.context import Context
from graph.ids import to_global_id
from models import Notification
from models.enums import NotificationKind
from resolvers.access import load_viewer
from resolvers.pagination import BY_ID
from resolvers.scheduler import run_once
from settings import Settings
from tests import factories
from tests.event_helpers import nothing_more, running_hub, take
from tests.graph.client import SCHEMA, SETTINGS

REMINDERS = """
subscription Reminders($after: String) {
  reminders(after: $after) { id kind message amount { amount } bill { statementNumber } }
}
"""
CHARGE_DAY = date(2026, 12, 7)  # a bill due Thursday December 10, autopay 3 days before


async def test_the_autopay_upcoming_reminder_reaches_the_subscriber_once(db: str) -> None:
    jordan = await factories.member("jordan@example.org")
    acct = await factories.account(jordan)
    await factories.autopay(jordan, acct, await factories.card(jordan, token="tok_mastercard"))
    bill = await factories.bill(
        acct, due=8_800, due_date=date(2026, 12, 10), statement_date=date(2026, 11, 10)
    )
    # The subscriber starts from a notification it already has, so none after it is missed.
    seen = await Notification.create(
        member=jordan,
        kind=NotificationKind.STATEMENT_AVAILABLE,
        message="Your statement is ready",
        created_at=datetime(2026, 11, 10, tzinfo=UTC),
    )
    at = datetime.combine(date(2026, 12, 4), time(9), UTC)
    set_clock(FixedClock(at))
    viewer = await load_viewer("jordan@example.org", "member")
    after = BY_ID.cursor(seen)

    async with running_hub() as hub:
        context = Context(settings=SETTINGS, viewer=viewer, events=hub)
        stream = await SCHEMA.subscribe(
            REMINDERS, variable_values={"after": after}, context_value=context
        )
        assert isinstance(stream, AsyncGenerator)
        try:
            await run_once(at, settings=Settings.from_env({}))
            await run_once(at, settings=Settings.from_env({}))  # a second run sends nothing

            results = await take(stream, 2)
            await nothing_more(stream)
        finally:
            await stream.aclose()

    received = []
    for result in results:
        assert result.errors is None and result.data is not None
        received.append(result.data["reminders"])
    assert sorted(r["kind"] for r in received) == ["AUTOPAY_UPCOMING", "BILL_DUE_SOON"]
    (reminder,) = [r for r in received if r["kind"] == "AUTOPAY_UPCOMING"]
    (row,) = await Notification.filter(kind=NotificationKind.AUTOPAY_UPCOMING)
    assert reminder["id"] == to_global_id("Notification", row.id)
    assert reminder["amount"] == {"amount": "88.00"}
    assert reminder["bill"] == {"statementNumber": bill.statement_number}
    assert "Monday, December 7, 2026" in reminder["message"]
