"""A WebSocket's sign-in is checked again: access revoked, tokens expired, staff demoted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest

from graph.ids import to_global_id
from models import AccountAccess, BillingAccount, Member
from models.enums import Role
from tests.e2e.events_support import STATUS_FEED, events_server, household
from tests.e2e.server import SECRET, ServerProcess
from tests.e2e.ws_client import GraphQLSocket

pytestmark = pytest.mark.e2e

ACCOUNT = "query($id: ID!) { account(id: $id) { accountNumber } }"


@pytest.fixture
def server(db: str) -> Iterator[ServerProcess]:
    with events_server(db, CAREPAY_WS_KEEP_ALIVE_SECONDS="1") as running:
        yield running


def _token(email: str, role: Role, seconds: int) -> str:
    issued = int(time.time())
    claims = {"sub": email, "role": role.value, "iat": issued, "exp": issued + seconds}
    return jwt.encode(claims, SECRET, algorithm="HS256")


async def _answer(ws: GraphQLSocket, op_id: str) -> dict[str, Any]:
    """A query's one result over the socket, and its completion."""
    payload = await ws.next_payload(op_id)
    assert await ws.receive() == {"id": op_id, "type": "complete"}
    return payload


async def test_a_query_on_an_open_socket_sees_access_revoked_since_it_connected(
    server: ServerProcess,
) -> None:
    await household()
    sam = await Member.get(email="sam@example.org")
    [shared] = await AccountAccess.filter(member_id=sam.id)
    account = await BillingAccount.get(id=shared.account_id)  # type: ignore[attr-defined]
    variables = {"id": to_global_id("BillingAccount", account.id)}
    async with GraphQLSocket.open(server.ws_url, token=server.token(sam.email)) as ws:
        await ws.subscribe("before", ACCOUNT, variables)
        before = await _answer(ws, "before")
        await AccountAccess.filter(member_id=sam.id).update(revoked_at=datetime.now(UTC))

        await ws.subscribe("after", ACCOUNT, variables)
        after = await _answer(ws, "after")

    assert before["data"]["account"] == {"accountNumber": account.account_number}
    assert after["data"]["account"] is None


async def test_a_socket_whose_token_expires_is_closed_with_4403(server: ServerProcess) -> None:
    await household()
    token = _token("billing@example.org", Role.STAFF, seconds=2)
    async with GraphQLSocket.open(server.ws_url, token=token) as ws:
        await ws.subscribe("feed", STATUS_FEED)

        assert await ws.closed_with(within=5) == 4403


async def test_a_staff_socket_is_closed_once_its_member_is_no_longer_staff(
    server: ServerProcess,
) -> None:
    await household()
    token = server.token("billing@example.org", role=Role.STAFF)
    async with GraphQLSocket.open(server.ws_url, token=token) as ws:
        await ws.subscribe("feed", STATUS_FEED)
        await Member.filter(email="billing@example.org").update(role=Role.MEMBER)

        assert await ws.closed_with(within=5) == 4403
