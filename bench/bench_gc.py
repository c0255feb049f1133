"""The cycle collector under payBill load: Python's defaults against the worker's settings.

    .venv/bin/python -m bench.bench_gc [--requests 2000] [--concurrency 16] [--postgres]

One process, one event loop (uvloop), the real ASGI app called in-process (no uvicorn)
on a fresh database (SQLite, or with `--postgres` a PostgreSQL database created for the
run and dropped after) with 32 members, each with a bill and a saved card. The same
payBill load (1.00 each, a new key per request, `--concurrency` requests in flight)
runs in alternating phases: "default" with the collector as Python starts it
(thresholds 700/10/10, nothing frozen), "worker" after `app.quiet_collector()`, the
call every server worker makes at start. Each phase reports, per request, the process's
CPU time and the time spent in collections (measured by `gc.callbacks`), the
collector's share of the CPU, the collections of each generation, and the longest
single pause. Afterwards, as in bench_paybill, the database must hold one payment and
one processor charge per request, with every bill's ledger exact.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_paybill import (  # noqa: E402
    Member,
    check_paid,
    database,
    on_postgres,
    pay_body,
    seed,
    verify,
)

DEFAULT_THRESHOLDS = (700, 10, 10)
ROUNDS = 2  # of each phase, alternating


@dataclass
class Pauses:
    """What `gc.callbacks` saw: collections and seconds per generation, the longest pause."""

    collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    seconds: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    longest: float = 0.0
    _started: float = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        generation = int(info["generation"])
        self.collections[generation] += 1
        self.seconds[generation] += took
        self.longest = max(self.longest, took)


@dataclass
class Phase:
    """One kind of phase, summed over its rounds."""

    requests: int = 0
    cpu: float = 0.0
    pauses: Pauses = field(default_factory=Pauses)


async def _load(client: Any, members: Sequence[Member], tag: str, count: int, width: int) -> None:
    """`count` payBill requests, `width` at a time; any refusal stops the run."""
    queue = iter(range(count))

    async def lane() -> None:
        for n in queue:
            member = members[n % len(members)]
            answer = await client.post(
                "/graphql",
                content=pay_body(member, f"{tag}-{n}"),
                headers={
                    "Authorization": f"Bearer {member.token}",
                    "Content-Type": "application/json",
                },
            )
            check_paid(answer.json())

    await asyncio.gather(*(lane() for _ in range(width)))


async def _measure(url: str, args: argparse.Namespace) -> list[str]:
    import httpx

    from app import create_app, quiet_collector
    from settings import Settings
    from tests.e2e.server import SECRET

    members = await seed(url)
    settings = Settings.from_env(
        {"CAREPAY_SECRET_KEY": SECRET, "CAREPAY_DATABASE_URL": url, "CAREPAY_ENV": "test"}
    )
    phases = {"default": Phase(), "worker": Phase()}
    made = 0
    async with database(url):
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await _load(client, members, "warm", 200, args.concurrency)
            made += 200
            for n in range(ROUNDS):
                for name, phase in phases.items():
                    gc.unfreeze()
                    gc.set_threshold(*DEFAULT_THRESHOLDS)
                    gc.collect()
                    if name == "worker":
                        quiet_collector()
                    gc.callbacks.append(phase.pauses)
                    cpu = time.process_time()
                    await _load(client, members, f"{name}{n}", args.requests, args.concurrency)
                    phase.cpu += time.process_time() - cpu
                    gc.callbacks.remove(phase.pauses)
                    phase.requests += args.requests
                    made += args.requests
    gc.unfreeze()
    gc.set_threshold(*DEFAULT_THRESHOLDS)
    lines = []
    for name, phase in phases.items():
        pauses = phase.pauses
        spent = sum(pauses.seconds)
        per = " ".join(f"{c:5d}" for c in pauses.collections)
        lines.append(
            f"{name:8s} {1000 * phase.cpu / phase.requests:8.3f} "
            f"{1000 * spent / phase.requests:8.3f} {100 * spent / phase.cpu:6.1f}%  "
            f"{per}  {1000 * pauses.longest:8.1f}"
        )
    lines.append("check: " + await verify(url, made))
    return lines


def _run(url: str, args: argparse.Namespace) -> list[str]:
    import uvloop

    return uvloop.run(_measure(url, args))


def main() -> None:
    from tests.db import sqlite_database_url

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="per phase and round")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL, not SQLite")
    args = parser.parse_args()

    if args.postgres:
        lines = on_postgres(lambda url: _run(url, args))
    else:
        lines = _run(sqlite_database_url(), args)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"{backend}, payBill in-process, {args.concurrency} in flight, "
        f"{ROUNDS} x {args.requests} requests per phase"
    )
    print(
        f"{'phase':8s} {'CPU ms':>8s} {'GC ms':>8s} {'GC':>7s}  {'gen0':>5s} {'gen1':>5s} "
        f"{'gen2':>5s}  {'max ms':>8s}   (per request; collections; longest pause)"
    )
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
