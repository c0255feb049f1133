"""GraphQL over HTTP against the ASGI app: auth, GET rules, origins, health, production."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from app import create_app
from graph.auth import mint_token
from models.enums import Role
from settings import Settings
from tests import factories

VIEWER = "query { viewer { email accounts { accountNumber } } }"
SECRET = "x" * 40


def _settings(database_url: str, **env: str) -> Settings:
    return Settings.from_env(
        {
            "CAREPAY_DATABASE_URL": database_url,
            "CAREPAY_SECRET_KEY": SECRET,
            "CAREPAY_ALLOWED_ORIGINS": "https://app.example.org",
            **env,
        }
    )


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # The test database is already open; the app's lifespan (which opens it) is not run.
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def client(db: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(_settings(db, CAREPAY_ENV="test")):
        yield c


@pytest.fixture
async def production(db: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(_settings(db, CAREPAY_ENV="production")):
        yield c


def _bearer(email: str, *, role: Role = Role.MEMBER, hours: int = 1) -> dict[str, str]:
    settings = Settings.from_env({"CAREPAY_SECRET_KEY": SECRET})
    return {"Authorization": f"Bearer {mint_token(settings, email, role=role, hours=hours)}"}


async def _post(
    client: httpx.AsyncClient, query: str, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers=headers or {})


def _only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    [error] = body["errors"]
    return dict(error)


async def test_a_member_reads_their_accounts_with_a_bearer_token(
    client: httpx.AsyncClient,
) -> None:
    alex = await factories.member("alex@example.org")
    account = await factories.account(alex)
    response = await _post(client, VIEWER, _bearer("alex@example.org"))
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "viewer": {
                "email": "alex@example.org",
                "accounts": [{"accountNumber": account.account_number}],
            }
        }
    }


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Authentication required"),
        ({"Authorization": "Basic abc"}, "must be `Bearer <token>`"),
        ({"Authorization": "Bearer not-a-jwt"}, "Invalid token"),
        ("expired", "Token expired"),
        ("unknown", "Invalid token"),
        ("forged", "Invalid token"),
    ],
)
async def test_missing_or_bad_tokens_get_401_and_no_data(
    client: httpx.AsyncClient, headers: Any, message: str
) -> None:
    await factories.member("alex@example.org")
    if headers == "expired":
        headers = _bearer("alex@example.org", hours=-1)
    elif headers == "unknown":
        headers = _bearer("nobody@example.org")
    elif headers == "forged":
        token = mint_token(Settings.from_env({"CAREPAY_SECRET_KEY": "y" * 40}), "alex@example.org")
        headers = {"Authorization": f"Bearer {token}"}
    response = await _post(client, VIEWER, headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = _only_error(response.json())
    assert message in error["message"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_member_token_cannot_claim_staff(client: httpx.AsyncClient) -> None:
    alex = await factories.member("alex@example.org")
    other = await factories.account(await factories.member("jordan@example.org"))
    await factories.account(alex)
    query = "query { bills(first: 5) { totalCount } }"
    claimed = await _post(client, query, _bearer("alex@example.org", role=Role.STAFF))
    assert claimed.status_code == 200
    # the staff claim of a member is ignored: Alex still sees only Alex's (empty) bills
    await factories.bill(other)
    again = await _post(client, query, _bearer("alex@example.org", role=Role.STAFF))
    assert again.json() == {"data": {"bills": {"totalCount": 0}}}


async def test_queries_over_get_are_refused_by_default(client: httpx.AsyncClient) -> None:
    await factories.member("alex@example.org")
    response = await client.get(
        "/graphql", params={"query": "{ viewer { email } }"}, headers=_bearer("alex@example.org")
    )
    assert response.status_code >= 400
    assert "viewer" not in response.text


async def test_an_unknown_operation_name_is_refused_without_a_card_number_in_it(
    production: httpx.AsyncClient,
) -> None:
    await factories.member("alex@example.org")
    body = {"query": "query Q { viewer { id } }", "operationName": "4242 4242 4242 4242"}

    response = await production.post("/graphql", json=body, headers=_bearer("alex@example.org"))

    assert response.status_code == 400
    assert "Unknown operation named" in response.text
    assert "4242" not in response.text


async def test_browsers_from_other_origins_are_refused(client: httpx.AsyncClient) -> None:
    await factories.member("alex@example.org")
    evil = await client.post(
        "/graphql",
        json={"query": VIEWER},
        headers={**_bearer("alex@example.org"), "Origin": "https://evil.example"},
    )
    assert evil.status_code == 403
    allowed = await client.post(
        "/graphql",
        json={"query": VIEWER},
        headers={**_bearer("alex@example.org"), "Origin": "https://app.example.org"},
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.org"


async def test_depth_and_alias_limits_stop_abusive_queries(client: httpx.AsyncClient) -> None:
    await factories.member("alex@example.org")
    nested = "id"
    for _ in range(4):
        nested = f"account {{ bills {{ edges {{ node {{ {nested} }} }} }} }}"
    deep = f"{{ viewer {{ accounts {{ bills {{ edges {{ node {{ {nested} }} }} }} }} }} }}"
    response = await _post(client, deep, _bearer("alex@example.org"))
    assert "exceeds maximum operation depth" in response.text
    aliases = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(100)) + " }"
    response = await _post(client, aliases, _bearer("alex@example.org"))
    assert "aliases found" in response.text.lower()
    assert response.json().get("data") is None


async def test_health_and_readiness_answer_json(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert health.json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "migrations": "current"}


async def test_production_hides_introspection_suggestions_and_graphiql(
    production: httpx.AsyncClient,
) -> None:
    await factories.member("alex@example.org")
    auth = _bearer("alex@example.org")
    introspect = await _post(production, "{ __schema { types { name } } }", auth)
    assert "__schema" in introspect.text
    assert introspect.json().get("data") is None
    typo = await _post(production, "{ viewer { emial } }", auth)
    assert "Did you mean" not in typo.text
    ide = await production.get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in ide.text.lower()


async def test_development_offers_suggestions_and_graphiql(client: httpx.AsyncClient) -> None:
    await factories.member("alex@example.org")
    typo = await _post(client, "{ viewer { emial } }", _bearer("alex@example.org"))
    assert "Did you mean 'email'?" in typo.text
    ide = await client.get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" in ide.text.lower()


def test_production_refuses_the_development_secret() -> None:
    from settings import SettingsError

    with pytest.raises(SettingsError, match="CAREPAY_SECRET_KEY"):
        Settings.from_env({"CAREPAY_ENV": "production"})
