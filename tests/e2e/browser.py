"""The dashboard in a real browser: Debian's Chromium driven by Playwright, and the page's build.

Never a downloaded browser (no `playwright install`): Chromium comes from Debian's
packages (/usr/bin/chromium; .ci/run installs it). Without it, or without Node.js to
build the page, the browser tests skip, or fail under CAREPAY_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.e2e.server import ROOT
from tests.services import unavailable

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """Debian's Chromium: /usr/bin/chromium, or `chromium` on PATH."""
    found = "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
    found = found or shutil.which("chromium")
    if found is None:
        unavailable("Chromium", "no /usr/bin/chromium; `apt-get install chromium` brings it")
    assert found is not None
    return found


def build_dashboard() -> Path:
    """dashboard/dist, built (or found up to date) by `make dashboard`."""
    if shutil.which("make") is None or shutil.which("npm") is None:
        unavailable("Node.js and make", "`make dashboard` needs npm and make on PATH")
    done = subprocess.run(
        ["make", "--no-print-directory", "dashboard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        unavailable("the dashboard build", f"`make dashboard` failed:\n{done.stderr[-2000:]}")
    return ROOT / "dashboard" / "dist"


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A headless Chromium browser under Playwright."""
    try:
        from playwright.async_api import async_playwright
    except ImportError as exc:
        unavailable("Playwright", f"{exc}; it is in the dev extra: pip install -e '.[dev]'")
        raise
    executable = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def artifact(name: str) -> Path:
    """A path under test-artifacts/ (gitignored) for a file a test keeps, e.g. a screenshot."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
