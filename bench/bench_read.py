"""Nested dashboard query, requests/s on one uvicorn worker: carepay vs naive vs plain.

    .venv/bin/python -m bench.bench_read [--seconds 10] [--concurrency 16] [--database-url URL]

One run seeds a database (one member, 1 account, 20 bills x 5 line items + a payment
each), then serves it three ways in turn on one uvicorn worker (uvloop, httptools):
the plain Starlette route (the limit), carepay, and carepay with caches and
DataLoaders off (naive). It first checks the three answer with the same JSON, then
drives each with the same client load from separate OS processes and prints req/s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.read_apps import DASHBOARD  # noqa: E402

SECRET = "bench-secret-" + "x" * 32
APPS = ("plain", "carepay", "naive")


async def _seed(database_url: str) -> None:
    from models import Payment
    from models.db import close_db, init_db
    from models.enums import PaymentKind, PaymentStatus
    from models.migrate import apply_migrations
    from tests import factories

    await apply_migrations(database_url)
    await init_db(database_url)
    try:
        person = await factories.member("bench@example.org", name="Bench Mark")
        account = await factories.account(person)
        method = await factories.card(person)
        stamp = datetime.now(UTC)
        for n in range(20):
            bill = await factories.bill(account, due=10_000 + n, lines=5)
            await Payment.create(
                bill=bill,
                account=account,
                member=person,
                method=method,
                amount=500,
                kind=PaymentKind.CARD,
                status=PaymentStatus.FAILED,
                processor_idempotency_key=f"bench-{n}",
                created_at=stamp,
                updated_at=stamp,
            )
    finally:
        await close_db()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(app: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", f"bench.read_apps:{app}", "--factory"]
    command += ["--port", str(port), "--workers", "1", "--loop", "uvloop", "--http", "httptools"]
    command += ["--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}/graphql"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{app} did not start")


async def _drive(url: str, token: str, seconds: float, concurrency: int) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    payload = {"query": DASHBOARD}
    done = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < stop:
                response = await client.post(url, json=payload, headers=headers)
                response.raise_for_status()
                done += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


def _client_process(url: str, token: str, seconds: float, concurrency: int, out: object) -> None:
    out.put(asyncio.run(_drive(url, token, seconds, concurrency)))  # type: ignore[attr-defined]


def _measure(url: str, token: str, seconds: float, concurrency: int, clients: int) -> float:
    queue: multiprocessing.Queue[int] = multiprocessing.Queue()
    per_client = max(1, concurrency // clients)
    procs = [
        multiprocessing.Process(
            target=_client_process, args=(url, token, seconds, per_client, queue)
        )
        for _ in range(clients)
    ]
    for p in procs:
        p.start()
    total = sum(queue.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def main() -> None:
    from tests.db import sqlite_database_url

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--clients", type=int, default=2, help="client OS processes")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    database_url = args.database_url or sqlite_database_url()
    asyncio.run(_seed(database_url))
    env = {
        **os.environ,
        "CAREPAY_DATABASE_URL": database_url,
        "CAREPAY_SECRET_KEY": SECRET,
        "CAREPAY_ENV": "test",
        "CAREPAY_LOG_LEVEL": "WARNING",
        "CAREPAY_SCHEDULER_ENABLED": "0",
    }
    from graph.auth import mint_token
    from settings import Settings

    token = mint_token(Settings.from_env({"CAREPAY_SECRET_KEY": SECRET}), "bench@example.org")

    bodies: dict[str, bytes] = {}
    rates: dict[str, float] = {}
    for app in APPS:
        proc, url = _serve(app, env)
        try:
            answer = httpx.post(
                url, json={"query": DASHBOARD}, headers={"Authorization": f"Bearer {token}"}
            )
            answer.raise_for_status()
            bodies[app] = answer.content
            _measure(url, token, 2, args.concurrency, args.clients)  # warm-up
            rates[app] = _measure(url, token, args.seconds, args.concurrency, args.clients)
        finally:
            proc.terminate()
            proc.wait()

    same = bodies["plain"] == bodies["carepay"] == bodies["naive"]
    print(f"database: {database_url.split(':')[0]}, {len(bodies['carepay'])} bytes per answer")
    print(f"identical JSON bytes from all three: {same}")
    for app in APPS:
        print(f"{app:8s} {rates[app]:8.1f} req/s")
    print(f"carepay / naive = {rates['carepay'] / rates['naive']:.2f}x (target >= 2x)")
    print(f"carepay / plain = {rates['carepay'] / rates['plain']:.2f} of the limit")
    if not same:
        raise SystemExit("the three servers disagree; the comparison is void")


if __name__ == "__main__":
    main()
