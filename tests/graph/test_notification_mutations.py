"""markNotificationsRead and notifications(unreadOnly:) over GraphQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.clock import FixedClock, set_clock
from graph.ids import to_global_id
from models import Member, Notification
from models.enums import NotificationKind
from tests import factories
from tests.graph.client import data_of

MARK = """
mutation Mark($input: MarkNotificationsReadInput!) {
  markNotificationsRead(input: $input) { markedCount unreadCount errors { field message code } }
}
"""
UNREAD = """
query Unread { notifications(unreadOnly: true) { totalCount edges { node { id kind readAt } } } }
"""


async def inbox(member: Member, n: int) -> list[str]:
    stamp = datetime(2026, 12, 1, 9, tzinfo=UTC)
    ids = []
    for i in range(n):
        note = await Notification.create(
            member=member,
            kind=NotificationKind.BILL_DUE_SOON,
            message=f"Reminder {i}",
            dedupe_key=f"test:{member.id}:{i}",
            created_at=stamp,
        )
        ids.append(to_global_id("Notification", note.id))
    return ids


async def mark(variables: dict[str, object], as_email: str = "alex@example.org") -> dict[str, Any]:
    data = await data_of(MARK, as_email=as_email, variables={"input": variables})
    result: dict[str, Any] = data["markNotificationsRead"]
    return result


async def read_state() -> list[tuple[int, bool]]:
    return [(n.id, n.read_at is not None) for n in await Notification.all().order_by("id")]


async def test_mark_some_then_all_read(db: str) -> None:
    set_clock(FixedClock(datetime(2026, 12, 2, 9, tzinfo=UTC)))
    alex = await factories.member("alex@example.org")
    ids = await inbox(alex, 4)

    some = await mark({"ids": ids[:2]})
    again = await mark({"ids": ids[:2]})
    unread = await data_of(UNREAD, as_email="alex@example.org")
    rest = await mark({"all": True})

    assert some == {"markedCount": 2, "unreadCount": 2, "errors": []}
    assert again == {"markedCount": 0, "unreadCount": 2, "errors": []}
    assert unread["notifications"]["totalCount"] == 2
    assert {e["node"]["id"] for e in unread["notifications"]["edges"]} == set(ids[2:])
    assert rest == {"markedCount": 2, "unreadCount": 0, "errors": []}
    assert (await data_of(UNREAD, as_email="alex@example.org"))["notifications"]["totalCount"] == 0


async def test_someone_elses_notification_is_refused_as_unknown_and_nothing_changes(
    db: str,
) -> None:
    alex = await factories.member("alex@example.org")
    jordan = await factories.member("jordan@example.org")
    mine = await inbox(alex, 1)
    theirs = await inbox(jordan, 1)
    before = await read_state()

    foreign = await mark({"ids": [mine[0], theirs[0]]})
    unknown = await mark({"ids": [mine[0], to_global_id("Notification", 10**9)]})

    assert foreign == unknown
    assert foreign["unreadCount"] == 1  # still Alex's count, as when a call goes through
    assert foreign["errors"] == [
        {
            "field": ["ids"],
            "message": "There is no such notification.",
            "code": "NOTIFICATION_NOT_FOUND",
        }
    ]
    assert await read_state() == before  # not even Alex's own was marked


async def test_ids_or_all_exactly_one(db: str) -> None:
    alex = await factories.member("alex@example.org")
    ids = await inbox(alex, 1)
    before = await read_state()

    neither = await mark({})
    both = await mark({"ids": ids, "all": True})
    bad_id = await mark({"ids": ["nonsense"]})

    assert neither["errors"][0]["code"] == "INVALID_INPUT" and neither["unreadCount"] == 1
    for empty in ({"ids": []}, {"ids": [], "all": False}):
        refused = await mark(empty)
        assert refused["errors"][0]["code"] == "INVALID_INPUT", refused
    assert both["errors"][0]["code"] == "INVALID_INPUT"
    assert bad_id["errors"][0] == {
        "field": ["ids", "0"],
        "message": "There is no such notification.",
        "code": "NOTIFICATION_NOT_FOUND",
    }
    assert await read_state() == before


async def test_more_ids_than_one_call_may_mark_are_refused_and_nothing_changes(db: str) -> None:
    # given: Alex's inbox, and lists longer than one call may carry (variables are not
    # counted by the query token limit, and PostgreSQL takes at most 32767 parameters)
    alex = await factories.member("alex@example.org")
    ids = await inbox(alex, 2)
    before = await read_state()
    unknown = [to_global_id("Notification", 10**9 + n) for n in range(40_000)]

    # when
    many = await mark({"ids": ids + unknown})
    one_too_many = await mark({"ids": ids + unknown[:99]})
    repeated = await mark({"ids": ids * 51})
    after_refusals = await read_state()
    most = await mark({"ids": ids * 50})

    # then
    refusal = {
        "markedCount": 0,
        "unreadCount": 2,
        "errors": [
            {
                "field": ["ids"],
                "message": "Give at most 100 notification IDs in one call.",
                "code": "INVALID_INPUT",
            }
        ],
    }
    assert many == one_too_many == repeated == refusal
    assert after_refusals == before
    assert most == {"markedCount": 2, "unreadCount": 0, "errors": []}


async def test_unread_only_may_be_left_null_as_the_contract_has_it(db: str) -> None:
    alex = await factories.member("alex@example.org")
    ids = await inbox(alex, 2)
    await mark({"ids": ids[:1]})
    every = "query($u: Boolean) { notifications(unreadOnly: $u) { totalCount } }"

    for variables in ({"u": None}, {}):
        data = await data_of(every, as_email="alex@example.org", variables=variables)
        assert data["notifications"]["totalCount"] == 2
    literal = "{ notifications(unreadOnly: null) { totalCount } }"
    assert (await data_of(literal, as_email="alex@example.org"))["notifications"]["totalCount"] == 2
    data = await data_of(every, as_email="alex@example.org", variables={"u": True})
    assert data["notifications"]["totalCount"] == 1
