"""This checkout against another source tree: two servers on one database, loaded in turn.

    git worktree add /tmp/before <commit>
    .venv/bin/python -m bench.bench_ab /tmp/before  # --pairs 4 --seconds 3 --connections 16

Both trees must share the database schema. The run seeds the members of
bench_paybill on one database (PostgreSQL, created for the run and dropped after; or
a SQLite file), starts `carepay serve --workers 1` from each tree on it, warms both up,
then measures `viewer { id }` and payBill in turn on each server, `--pairs` times,
the order of the servers alternating from one pair to the next. Each phase gives the
request rate, the worker's CPU per request (from /proc) and how busy the worker was.
Every payBill answer is checked, and so is the ledger afterwards. One server process
can run up to 15% faster than the next with the same code, so a difference is worth
believing only if it holds over several runs (each starts new server processes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.bench_paybill import (
    Load,
    Member,
    measure,
    on_postgres,
    seed,
    verify,
)
from tests.e2e.server import ROOT, ServerProcess

WARM_SECONDS = 1.5
KINDS = ("viewer", "pay")
NO_PATH = {"PYTHONPATH": ""}


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its children (a uvicorn worker)."""
    total = 0.0
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    for each in [pid, *map(int, children.stdout.split())]:
        with contextlib.suppress(FileNotFoundError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@dataclass
class Side:
    """One server's measurements per kind of request."""

    name: str
    rate: dict[str, list[float]] = field(default_factory=dict)
    cpu_ms: dict[str, list[float]] = field(default_factory=dict)
    busy: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, rate: float, cpu_ms: float, busy: float) -> None:
        self.rate.setdefault(kind, []).append(rate)
        self.cpu_ms.setdefault(kind, []).append(cpu_ms)
        self.busy.setdefault(kind, []).append(busy)

    def lines(self) -> Iterator[str]:
        for kind in KINDS:
            rate, cpu, busy = self.rate[kind], self.cpu_ms[kind], self.busy[kind]
            yield (
                f"{self.name:<6} {kind:<7} {min(rate):6.0f}-{max(rate):.0f}/s, "
                f"worker CPU {min(cpu):.2f}-{max(cpu):.2f} ms/request, "
                f"busy {min(busy):.0%}-{max(busy):.0%}"
            )
        ratios = [p / v for p, v in zip(self.rate["pay"], self.rate["viewer"], strict=True)]
        yield (
            f"{self.name:<6} payBill/viewer {min(ratios):.2f}-{max(ratios):.2f} per pair, "
            f"{statistics.mean(self.rate['pay']) / statistics.mean(self.rate['viewer']):.2f} "
            "of the means"
        )


def _phase(
    pool: multiprocessing.pool.Pool, server: ServerProcess, load: Load, clients: int
) -> tuple[int, float, float]:
    """Requests done, the worker's CPU ms per request, and the share of the time it was busy."""
    assert server.process is not None
    pid = server.process.pid
    cpu, start = _cpu_seconds(pid), time.monotonic()
    done = measure(pool, load, clients)
    used, wall = _cpu_seconds(pid) - cpu, time.monotonic() - start
    return done, 1000 * used / max(done, 1), used / wall


def compare(database_url: str, other: Path, args: argparse.Namespace) -> list[Side]:
    """Measure both servers on one database; the ledger is checked afterwards."""
    members: tuple[Member, ...] = tuple(asyncio.run(seed(database_url)))
    sides = [Side("this"), Side("other")]
    paid = 0
    with (
        # Each server imports its tree's code from its working directory, so nothing
        # inherited on PYTHONPATH may come first.
        ServerProcess(database_url, migrate=False, root=ROOT, env=NO_PATH) as this,
        ServerProcess(database_url, migrate=False, root=other, env=NO_PATH) as that,
        multiprocessing.get_context("spawn").Pool(args.clients) as pool,
    ):
        servers = [this, that]
        for n in range(args.pairs + 1):  # the first pair warms up and is not counted
            order = [0, 1] if n % 2 else [1, 0]
            for index in order:
                for kind in KINDS:
                    seconds = args.seconds if n else WARM_SECONDS
                    tag = f"p{n}s{index}{kind}"
                    load = Load(servers[index].port, kind, members, seconds, args.connections, tag)
                    done, cpu_ms, busy = _phase(pool, servers[index], load, args.clients)
                    paid += done if kind == "pay" else 0
                    if n:
                        sides[index].add(kind, done / seconds, cpu_ms, busy)
        for server in servers:
            if "Traceback" in server.log():
                raise SystemExit(server.log()[-4000:])
    print(asyncio.run(verify(database_url, paid)))
    return sides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("other", type=Path, help="the other source tree")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    if not (args.other / "cli.py").is_file():
        raise SystemExit(f"{args.other} is not a carepay source tree")
    if args.sqlite:
        with tempfile.TemporaryDirectory() as scratch:
            sides = compare(f"sqlite://{scratch}/ab.db", args.other, args)
    else:
        sides = on_postgres(lambda url: compare(url, args.other, args))
    print(
        f"{args.pairs} pairs of {args.seconds:g} s phases, {args.connections} connections, "
        f"this = {ROOT}, other = {args.other}"
    )
    for side in sides:
        for line in side.lines():
            print(line)


if __name__ == "__main__":
    main()
