"""Start several `carepay scheduler run-once` processes at the same instant and collect them."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime

from tests.e2e.server import BASE_ENV, ROOT


@dataclass(frozen=True)
class Finished:
    """One scheduler process's exit code and output."""

    returncode: int
    stdout: str
    stderr: str


def run_schedulers(
    database_url: str,
    at: datetime,
    *,
    processes: int = 1,
    crash: str | None = None,
    timeout: float = 120,
) -> list[Finished]:
    """Run `processes` schedulers on `database_url` as of `at`, released together."""
    env = {**os.environ, **BASE_ENV, "CAREPAY_DATABASE_URL": database_url}
    env["CAREPAY_LOG_LEVEL"] = "WARNING"
    command = [sys.executable, "-m", "tests.e2e.scheduler_worker"]
    if crash:
        command += ["--crash", crash]
    command += ["--", "scheduler", "run-once", "--at", at.isoformat()]
    started = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    for process in started:  # every process has imported everything and waits
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "ready":
            process.kill()
            raise RuntimeError(f"scheduler did not start: {line!r} {process.stderr!r}")
    for process in started:  # release them together
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    finished = []
    for process in started:
        out, err = process.communicate(timeout=timeout)
        finished.append(Finished(process.returncode, out, err))
    return finished


def count(finished: list[Finished], prefix: str, word: str) -> int:
    """The sum over processes of the number before `word` on their `prefix` report line."""
    total = 0
    for run in finished:
        for line in run.stdout.splitlines():
            if line.startswith(prefix):
                before = line.split(word)[0].split()
                total += int(before[-1])
    return total
