"""Every `after` cursor that is not one of ours gets the same clear error, and nothing else."""

from __future__ import annotations

import base64
from typing import Any

from graph.ids import to_global_id
from tests import factories
from tests.graph.client import execute
from tests.graph.households import household, shape

# Each connection field that takes `after`, with a cursor value of its sort key.
CONNECTIONS = {
    "bills": ("query($after: String) { bills(after: $after) { totalCount } }", '"2026-11-01"'),
    "payments": (
        "query($after: String) { payments(after: $after) { totalCount } }",
        '"2026-11-01T09:00:00+00:00"',
    ),
    "notifications": (
        "query($after: String) { notifications(after: $after) { totalCount } }",
        "5",
    ),
    "account.bills": (
        "query($after: String, $id: ID!) "
        "{ account(id: $id) { bills(after: $after) { totalCount } } }",
        '"2026-11-01"',
    ),
    "account.payments": (
        "query($after: String, $id: ID!) "
        "{ account(id: $id) { payments(after: $after) { totalCount } } }",
        '"2026-11-01T09:00:00+00:00"',
    ),
}
# Row ids no id column holds, and JSON that is not an integer at all.
BAD_IDS = ["10" + "0" * 30, "2147483648", "0", "-1", "Infinity", "-Infinity", "NaN", "1.5"]
BAD_IDS += ["1e3", "true", "null", '"5"', "[5]"]
BAD_SORT_KEYS = {
    "5": [*BAD_IDS, "4", "6"],  # a notification cursor holds its id twice: [5, 5]
    '"2026-11-01"': ['"99999-01-01"', '"2026-13-01"', "20261101", "null", "Infinity"],
    '"2026-11-01T09:00:00+00:00"': [
        '"2026-11-01T09:00:00"',  # no time zone: ours always carry one
        '"9999-12-31T23:59:59-23:59"',  # past the last moment a datetime holds, in UTC
        '"0001-01-01T00:00:00+23:59"',  # before the first
        '"2026-11-01"',
        "1700000000",
        "Infinity",
    ],
}


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bad_cursors(sort_key: str) -> list[str]:
    """Cursors built like ours but holding values no row has, and some that are not JSON."""
    raws = [f"[{sort_key}, {pk}]" for pk in BAD_IDS]
    raws += [f"[{key}, 5]" for key in BAD_SORT_KEYS.get(sort_key, BAD_IDS)]
    raws += [f"[{sort_key}]", f"[{sort_key}, 5, 5]", f'{{"a": {sort_key}, "b": 5}}', "5"]
    raws += ["[" * 100_000, "[" * 50 + "]" * 50]
    return [_cursor(raw) for raw in raws] + ["zz" * 50_000]


async def test_bad_cursors_are_one_clear_error(db: str) -> None:
    # given: a member with one of everything
    own = await household("alex@example.org")
    account_id = to_global_id("BillingAccount", own["BillingAccount"])
    await factories.member("billing@example.org", staff=True)
    for name, (document, sort_key) in CONNECTIONS.items():
        for email, staff in [("alex@example.org", False), ("billing@example.org", True)]:
            variables: dict[str, Any] = {"id": account_id} if "$id" in document else {}
            # when
            malformed = await execute(
                document, as_email=email, staff=staff, variables={**variables, "after": "zzz"}
            )
            good = await execute(
                document,
                as_email=email,
                staff=staff,
                variables={**variables, "after": _cursor(f"[{sort_key}, 5]")},
            )
            # then: every bad cursor answers as the malformed one does
            assert good.errors is None, (name, good.errors)
            assert malformed.errors and malformed.errors[0].extensions == {"code": "BAD_USER_INPUT"}
            for after in _bad_cursors(sort_key):
                result = await execute(
                    document, as_email=email, staff=staff, variables={**variables, "after": after}
                )
                assert shape(result) == shape(malformed), (name, email, after[:80])
