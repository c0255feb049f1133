"""What the dashboard loads before it subscribes: where events stand, and who paid."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta

from strawberry.types import ExecutionResult

from adapters.clock import FixedClock, set_clock
from graph.context import Context
from graph.ids import to_global_id
from models.enums import AccessRole, Role
from resolvers.access import load_viewer
from resolvers.event_log import event_cursor, last_id
from tests import factories
from tests.event_helpers import payment, running_hub, take
from tests.graph.client import SCHEMA, SETTINGS, data_of, execute

CURSOR = """
query($before: DateTime) { paymentEventCursor(occurredBefore: $before) }
"""
FEED = """
subscription($after: String) {
  paymentStatusFeed(after: $after) { cursor payment { id } }
}
"""
PAYMENTS = """
query { payments(first: 10) { edges { node { amount { amount } member { name email } } } } }
"""
MIDNIGHT = datetime(2025, 3, 2, tzinfo=UTC)


async def _replayed(after: str, count: int) -> list[dict[str, str]]:
    """The first `count` events the staff feed replays after `after`."""
    viewer = await load_viewer("billing@example.org", Role.STAFF.value)
    async with running_hub() as hub:
        context = Context(settings=SETTINGS, viewer=viewer, events=hub)
        stream = await SCHEMA.subscribe(
            FEED, variable_values={"after": after}, context_value=context
        )
        assert isinstance(stream, AsyncGenerator)
        try:
            results: list[ExecutionResult] = await take(stream, count)
        finally:
            await stream.aclose()
    for result in results:
        assert result.errors is None, result.errors
    return [r.data["paymentStatusFeed"] for r in results if r.data is not None]


async def _cursor(before: datetime) -> dict[str, str]:
    variables = {"before": before.isoformat()}
    return await data_of(CURSOR, as_email="billing@example.org", staff=True, variables=variables)


async def _day_of_payments() -> list[str]:
    """Payments just before, at, and after midnight; their global ids."""
    alex = await factories.member("alex@example.org")
    await factories.member("billing@example.org", staff=True)
    account = await factories.account(alex)
    made = []
    clock = FixedClock(MIDNIGHT - timedelta(minutes=1))
    set_clock(clock)
    for step in (timedelta(0), timedelta(minutes=1), timedelta(hours=9)):
        clock.advance(step)
        made.append(to_global_id("Payment", (await payment(alex, account)).id))
    return made


async def test_the_cursor_of_a_moment_replays_every_event_from_that_moment_on(db: str) -> None:
    # given
    _before_midnight, at_midnight, morning = await _day_of_payments()
    # when
    data = await _cursor(MIDNIGHT)
    # then
    events = await _replayed(data["paymentEventCursor"], 2)
    assert [e["payment"]["id"] for e in events] == [at_midnight, morning]


async def test_a_moment_before_every_event_replays_them_all(db: str) -> None:
    made = await _day_of_payments()
    data = await _cursor(MIDNIGHT - timedelta(days=30))
    events = await _replayed(data["paymentEventCursor"], 3)
    assert [e["payment"]["id"] for e in events] == made


async def test_without_a_moment_the_cursor_stands_after_the_newest_event(db: str) -> None:
    await _day_of_payments()
    every = await _replayed((await _cursor(MIDNIGHT - timedelta(days=30)))["paymentEventCursor"], 3)
    data = await data_of(CURSOR, as_email="alex@example.org")
    assert data["paymentEventCursor"] == every[-1]["cursor"]


async def test_a_members_cursor_tells_nothing_of_anyone_elses_payments(db: str) -> None:
    # given: Alex has paid once; Jordan pays on his own account afterwards
    alex = await factories.member("alex@example.org")
    jordan = await factories.member("jordan@example.org")
    await factories.member("pat@example.org")  # no account at all
    await factories.member("billing@example.org", staff=True)
    alex_account = await factories.account(alex)
    await payment(alex, alex_account)
    before = await data_of(CURSOR, as_email="alex@example.org")
    jordan_account = await factories.account(jordan)
    for _ in range(3):
        await payment(jordan, jordan_account)
    # when
    alex_now = await data_of(CURSOR, as_email="alex@example.org")
    nobody = await data_of(CURSOR, as_email="pat@example.org")
    staff = await data_of(CURSOR, as_email="billing@example.org", staff=True)
    # then: only the staff cursor moved with Jordan's payments
    assert alex_now == before
    assert nobody["paymentEventCursor"] == event_cursor(0)
    assert staff["paymentEventCursor"] == event_cursor(await last_id())
    assert staff != alex_now
    await payment(alex, alex_account)  # and Alex's own payment moves Alex's cursor
    alex_next = await data_of(CURSOR, as_email="alex@example.org")
    assert alex_next["paymentEventCursor"] == event_cursor(await last_id())


async def test_the_cursor_needs_a_signed_in_viewer(db: str) -> None:
    result = await execute(CURSOR, as_email=None)
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "UNAUTHENTICATED"}


async def test_staff_see_which_member_made_each_payment(db: str) -> None:
    # given: Sam pays on Alex's account as proxy
    alex = await factories.member("alex@example.org", name="Alex Rivera")
    sam = await factories.member("sam@example.org", name="Sam Rivera")
    await factories.member("billing@example.org", staff=True)
    account = await factories.account(alex)
    await factories.grant(sam, account, AccessRole.PROXY_PAY)
    await payment(sam, account, amount=1250)
    # when
    data = await data_of(PAYMENTS, as_email="billing@example.org", staff=True)
    # then
    [edge] = data["payments"]["edges"]
    assert edge["node"] == {
        "amount": {"amount": "12.50"},
        "member": {"name": "Sam Rivera", "email": "sam@example.org"},
    }
