"""The server's access log never holds a query string: a GraphQL query sent by GET is in it."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.e2e


def test_a_get_query_is_logged_without_its_query_string(db: str) -> None:
    card = "4111111111111111"
    with ServerProcess(db, migrate=False, env={"CAREPAY_LOG_LEVEL": "INFO"}) as server:
        query = f'{{ viewer {{ name(x: "{card}") }} }}'
        answer = httpx.get(server.graphql_url, params={"query": query}, timeout=10)
        log = server.log()

    assert answer.status_code >= 400  # GET queries are off; the request was still logged
    assert '"GET /graphql?[query removed] HTTP/1.1"' in log
    assert card not in log
