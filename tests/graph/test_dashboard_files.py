"""The dashboard's files at /dashboard: content types, security headers, and a missing build."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

import graph.dashboard
from app import create_app
from graph.dashboard import dashboard_routes
from settings import Settings


def _client(app: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>carepay</title>")
    (tmp_path / "app.js").write_text("console.log('live')")
    (tmp_path / "app.css").write_text("body { margin: 0 }")
    return tmp_path


@pytest.fixture
async def client(built: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(Starlette(routes=dashboard_routes(built))) as c:
        yield c


async def test_the_page_and_its_assets_have_their_content_types(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/dashboard/")
    script = await client.get("/dashboard/app.js")
    style = await client.get("/dashboard/app.css")
    assert page.status_code == script.status_code == style.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert script.headers["content-type"].split(";")[0] in (
        "text/javascript",
        "application/javascript",
    )
    assert style.headers["content-type"].startswith("text/css")


async def test_dashboard_without_a_slash_leads_to_the_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/dashboard", follow_redirects=True)
    assert response.status_code == 200
    assert str(response.url) == "http://127.0.0.1:8000/dashboard/"


async def test_every_answer_carries_a_same_origin_only_policy(client: httpx.AsyncClient) -> None:
    for path in ("/dashboard/", "/dashboard/app.js", "/dashboard/missing.js"):
        response = await client.get(path)
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        assert "connect-src 'self' ws://127.0.0.1:8000 wss://127.0.0.1:8000" in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


async def test_a_host_header_that_is_not_a_host_stays_out_of_the_policy(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/dashboard/", headers={"host": "evil; script-src *"})
    assert "evil" not in response.headers["content-security-policy"]
    assert "connect-src 'self';" in response.headers["content-security-policy"]


async def test_unknown_files_are_not_found(client: httpx.AsyncClient) -> None:
    assert (await client.get("/dashboard/missing.js")).status_code == 404


async def test_a_missing_build_answers_503_saying_how_to_build_it(tmp_path: Path) -> None:
    async with _client(Starlette(routes=dashboard_routes(tmp_path / "dist"))) as client:
        response = await client.get("/dashboard/")
    assert response.status_code == 503
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "make dashboard" in response.text


async def test_the_app_serves_the_dashboard_build(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graph.dashboard, "BUILD_DIR", built)
    settings = Settings.from_env({"CAREPAY_ENV": "test", "CAREPAY_SECRET_KEY": "x" * 40})
    async with _client(create_app(settings)) as client:
        response = await client.get("/dashboard/")
    assert response.status_code == 200
    assert "<title>carepay</title>" in response.text
