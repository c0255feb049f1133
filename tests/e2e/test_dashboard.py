"""The billing-office dashboard in headless Chromium against a real server.

A staff member signs in with a token, sees the payments made so far, then new ones
within 2 s; the page shows it is reconnecting while the server restarts and resumes
from its last event, so a payment made meanwhile appears once; tokens that cannot
open the dashboard get a message that says why.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.enums import Role
from tests.e2e.browser import artifact, build_dashboard, chromium
from tests.e2e.events_support import (
    EVENTS_ENV,
    Payer,
    events_server,
    household,
    pay,
    unexpected_errors,
)
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.e2e
STAFF = "billing@example.org"
LIVE_WITHIN_MS = 2000
# A restart, the page's back-off (at most 5 s between tries) and the replay.
RECONNECT_WITHIN_MS = 20_000


@pytest.fixture(scope="session")
def dashboard_build() -> Path:
    return build_dashboard()


@pytest.fixture(scope="session")
async def browser(dashboard_build: Path) -> AsyncIterator[Any]:
    async with chromium() as running:
        yield running


@pytest.fixture
def server(db: str, dashboard_build: Path) -> Iterator[ServerProcess]:
    with events_server(db) as running:
        yield running


@pytest.fixture
async def page(browser: Any, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A fresh tab (its own sessionStorage); a screenshot of it is kept after the test."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    tab = await context.new_page()
    tab.problems = []
    tab.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))
    tab.on("console", lambda m: m.type == "error" and tab.problems.append(f"console: {m.text}"))
    try:
        yield tab
    finally:
        with contextlib.suppress(Exception):  # an artifact: never hide the test's own failure
            await tab.screenshot(path=artifact(f"{request.node.name}.png"), full_page=True)
        await context.close()


async def sign_in(page: Any, server: ServerProcess, token: str) -> None:
    await page.goto(f"{server.url}/dashboard")
    await page.fill("#token", token)
    await page.click("#sign-in button[type=submit]")


def row(page: Any, payment: dict[str, Any]) -> Any:
    return page.locator(f'#feed tr[data-payment="{payment["id"]}"]')


async def shows(page: Any, payment: dict[str, Any], amount: str, *, within: int) -> None:
    """The payment's row appears (once) with its amount and status within `within` ms."""
    from playwright.async_api import expect

    await expect(row(page, payment).locator(".amount")).to_have_text(amount, timeout=within)
    await expect(row(page, payment).locator(".status")).to_have_text("Succeeded", timeout=within)
    await expect(row(page, payment)).to_have_count(1)


async def test_staff_sign_in_and_see_payments_appear_within_two_seconds(
    server: ServerProcess, page: Any
) -> None:
    from playwright.async_api import expect

    # given: a payment made before the page opens
    payers = await household()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    async with httpx.AsyncClient(timeout=30) as client:
        earlier = await pay(client, server, payers["alex"], "12.34")
        # when
        token = server.token(STAFF, role=Role.STAFF)
        await sign_in(page, server, token)
        await expect(page.locator("#connection")).to_have_text("Live")
        await shows(page, earlier, "$12.34", within=5000)
        made = [
            await pay(client, server, payers["jordan"], "7.00"),
            await pay(client, server, payers["alex"], "42.00"),
        ]
        # then
        for payment, amount in zip(made, ("$7.00", "$42.00"), strict=True):
            await shows(page, payment, amount, within=LIVE_WITHIN_MS)

    await expect(page.locator("#feed tr").first).to_have_attribute("data-payment", made[1]["id"])
    await expect(row(page, made[0]).locator("td").nth(2)).to_have_text("Jordan Lee")
    await expect(page.locator("#succeeded-count")).to_have_text("3")
    await expect(page.locator("#succeeded-total")).to_have_text("$61.34")
    await expect(page.locator("#failed-count")).to_have_text("0")
    await expect(page.locator("#viewer-name")).to_have_text("Billing Office")
    bars = await page.locator("#chart rect.bar").evaluate_all(
        "bars => bars.map(bar => Number(bar.dataset.count))"
    )
    assert len(bars) == 24 and sum(bars) == 3
    # The token stays out of the URL, in this tab's sessionStorage; nothing but carepay is asked.
    assert token not in page.url
    assert token == await page.evaluate("sessionStorage.getItem('carepay.dashboard.token')")
    assert requests and all(url.startswith(server.url) for url in requests), requests
    assert page.problems == []
    await page.screenshot(path=artifact("dashboard.png"), full_page=True)

    # Signing out forgets the token.
    await page.click("#sign-out")
    await expect(page.locator("#sign-in")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('carepay.dashboard.token')") is None


async def test_the_page_reconnects_after_a_restart_and_shows_what_was_paid_meanwhile(
    server: ServerProcess, page: Any, db: str
) -> None:
    from playwright.async_api import expect

    payers: dict[str, Payer] = await household()
    with ServerProcess(db, migrate=False, env=EVENTS_ENV) as other:
        async with httpx.AsyncClient(timeout=30) as client:
            await sign_in(page, server, server.token(STAFF, role=Role.STAFF))
            await expect(page.locator("#connection")).to_have_text("Live")
            before = await pay(client, server, payers["alex"], "1.00")
            await shows(page, before, "$1.00", within=LIVE_WITHIN_MS)

            # when: the page's server goes down; a payment is made on another server meanwhile
            server.stop()
            await expect(page.locator("#connection")).to_have_text("Reconnecting…")
            meanwhile = await pay(client, other, payers["jordan"], "23.45")
            server.start()

            # then: it reconnects and resumes from its last event
            await shows(page, meanwhile, "$23.45", within=RECONNECT_WITHIN_MS)
            await expect(page.locator("#connection")).to_have_text("Live")
            after = await pay(client, server, payers["alex"], "5.00")
            await shows(page, after, "$5.00", within=LIVE_WITHIN_MS)
    assert unexpected_errors(other.log()) == []
    await expect(page.locator("#feed tr")).to_have_count(3)
    await expect(page.locator("#succeeded-count")).to_have_text("3")
    await expect(page.locator("#succeeded-total")).to_have_text("$29.45")


async def test_tokens_that_cannot_open_the_dashboard_get_a_clear_message(
    server: ServerProcess, page: Any
) -> None:
    from playwright.async_api import expect

    await household()
    message = page.locator("#message")

    # A token the server cannot verify: the socket is closed with 4403.
    await sign_in(page, server, "not-a-token")
    await expect(message).to_contain_text("The server refused this token")
    await expect(page.locator("#sign-in")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('carepay.dashboard.token')") is None

    # A member's token: signed in, but the staff feed is not theirs.
    await sign_in(page, server, server.token("alex@example.org"))
    await expect(message).to_contain_text("This dashboard is for billing-office staff")
    await expect(page.locator("#sign-in")).to_be_visible()
    await expect(page.locator("#board")).to_be_hidden()
