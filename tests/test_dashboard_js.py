"""The dashboard page's own JavaScript tests (`node --test` in dashboard/), run with the suite."""

from __future__ import annotations

import re
import subprocess

from tests.e2e.browser import build_dashboard
from tests.e2e.server import ROOT


def test_the_dashboards_javascript_tests_pass() -> None:
    build_dashboard()  # npm ci brings graphql-ws, which the page's modules import
    done = subprocess.run(
        ["npm", "test", "--silent"],
        cwd=ROOT / "dashboard",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    passed = re.search(r"^# pass (\d+)$", done.stdout, re.MULTILINE)
    assert passed is not None and int(passed.group(1)) > 0, report
