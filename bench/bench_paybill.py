"""payBill mutations/s next to `viewer { id }` queries/s, one uvicorn worker, SQLite and PostgreSQL.

    .venv/bin/python -m bench.bench_paybill [--seconds 5] [--rounds 4] [--connections 16,32,64,128]

For each database (a fresh SQLite file, and a PostgreSQL database created for the run
and dropped after) the run seeds 32 members, each with a bill and a saved card, starts
`carepay serve --workers 1` (uvloop, httptools), and drives it from separate OS
processes over keep-alive HTTP/1.1 connections: `viewer { id }` for N seconds, then
payBill (1.00 on the member's bill, a new idempotency key per request), at each number
of connections given (the same for both kinds of request), `--rounds` times. Each round
runs on a server process of its own (restarted, then warmed up with both kinds of
request): two processes of the same server can differ in speed by up to 15%, and one
process would stand for all. Every answer is checked (no errors, payment SUCCEEDED),
and afterwards the database must hold exactly one payment and one processor charge per
successful request, with every bill's ledger exact to the cent. Prints one table, a
row per database and connection count: the mean rates, their ratio, and the lowest and
highest ratio of a single round (the machine's own noise, as one round's two phases
run seconds apart). Then, per database, each kind's peak: its highest mean rate over
the connection counts (the worker's capacity for it), and the ratio of the two peaks.

The first connection count is the headline figure. A viewer request waits only for
two short reads (its sign-in), so 16 connections keep the worker busy; a payBill
request also waits for its ledger batches, whose statements run one after another in
the database, and at 16 connections the worker idles 12-18% of the time on
PostgreSQL. The further counts show the rates with more requests in flight: payBill's
larger ledger batches cost less per payment, and its rate rises up to about 128.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEMBERS = 32
WARM_SECONDS = 1.5  # of each kind of request, after each server start, not counted
T = TypeVar("T")
VIEWER = json.dumps({"query": "query { viewer { id } }"}).encode()
PAY = (
    "mutation($input: PayBillInput!) { payBill(input: $input) "
    "{ payment { id status } errors { code } } }"
)


@dataclass(frozen=True)
class Member:
    """What a client needs to act as one seeded member."""

    token: str
    bill_id: str
    method_id: str


@dataclass(frozen=True)
class Load:
    """One client process's share of a measurement."""

    port: int
    kind: str  # "viewer" or "pay"
    members: tuple[Member, ...]
    seconds: float
    connections: int
    tag: str


def _request(load: Load, member: Member, body: bytes) -> bytes:
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{load.port}\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer {member.token}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def pay_body(member: Member, key: str) -> bytes:
    """A payBill request's JSON body: 1.00 on the member's bill with their card."""
    variables = {
        "input": {
            "billId": member.bill_id,
            "amount": "1.00",
            "paymentMethodId": member.method_id,
            "idempotencyKey": key,
        }
    }
    return json.dumps({"query": PAY, "variables": variables}).encode()


def check_paid(answer: dict[str, Any]) -> None:
    """RuntimeError unless a payBill answer holds a SUCCEEDED payment and no errors."""
    result = (answer.get("data") or {}).get("payBill")
    if answer.get("errors") or not result or result["errors"]:
        raise RuntimeError(f"payment failed: {answer}")
    if result["payment"]["status"] != "SUCCEEDED":
        raise RuntimeError(f"payment failed: {result}")


async def _connection(load: Load, index: int, stop: float) -> int:
    """One keep-alive connection sending requests back to back; returns how many succeeded."""
    reader, writer = await asyncio.open_connection("127.0.0.1", load.port)
    done = 0
    try:
        while time.monotonic() < stop:
            member = load.members[(index + done) % len(load.members)]
            if load.kind == "viewer":
                body = VIEWER
            else:
                body = pay_body(member, f"{load.tag}-{index}-{done}")
            writer.write(_request(load, member, body))
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            answer = json.loads(await reader.readexactly(length))
            if b" 200 " not in status or "errors" in answer:
                raise RuntimeError(f"bad answer: {status!r} {answer}")
            if load.kind == "pay":
                check_paid(answer)
            done += 1
    finally:
        writer.close()
    return done


def _drive(load: Load) -> int:
    async def run() -> int:
        stop = time.monotonic() + load.seconds
        counts = await asyncio.gather(
            *(_connection(load, i, stop) for i in range(load.connections))
        )
        return sum(counts)

    return asyncio.run(run())


def measure(pool: multiprocessing.pool.Pool, load: Load, clients: int) -> int:
    """How many requests the client processes completed in `load.seconds`."""
    share = max(1, load.connections // clients)
    loads = [
        Load(load.port, load.kind, load.members, load.seconds, share, f"{load.tag}c{n}")
        for n in range(clients)
    ]
    return sum(pool.map(_drive, loads))


@contextlib.asynccontextmanager
async def database(database_url: str) -> AsyncIterator[None]:
    """The database, open in this task only (the bench opens several in one process)."""
    from tortoise import Tortoise
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    from models.db import tortoise_config

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        yield
    finally:
        await Tortoise.close_connections()
        await Tortoise._reset_apps()
        EXECUTOR_CACHE.clear()  # statements compiled for this dialect must not leak to the next


async def seed(database_url: str) -> list[Member]:
    from graph.auth import mint_token
    from graph.ids import to_global_id
    from models.migrate import apply_migrations
    from settings import Settings
    from tests import factories
    from tests.e2e.server import SECRET

    settings = Settings.from_env({"CAREPAY_SECRET_KEY": SECRET})
    await apply_migrations(database_url)
    members = []
    async with database(database_url):
        for n in range(MEMBERS):
            email = f"bench{n}@example.org"
            person = await factories.member(email)
            bill = await factories.bill(await factories.account(person), due=10**10)
            card = await factories.card(person)
            members.append(
                Member(
                    token=mint_token(settings, email, hours=2),
                    bill_id=to_global_id("Bill", bill.id),
                    method_id=to_global_id("PaymentMethod", card.id),
                )
            )
    return members


async def verify(database_url: str, paid_requests: int) -> str:
    """Exactly one payment and one processor charge per successful payBill of 1.00, and
    every bill's ledger exact to the cent; SystemExit otherwise."""
    from models import Bill, Payment, SandboxCharge

    async with database(database_url):
        payments = await Payment.all().count()
        charges = await SandboxCharge.all().count()
        bills = await Bill.all()
        paid = sum(b.amount_paid for b in bills)
        exact = all(
            b.amount_due == b.patient_responsibility - b.amount_paid and b.amount_pending == 0
            for b in bills
        )
    ok = payments == charges == paid_requests and paid == 100 * paid_requests and exact
    if not ok:
        raise SystemExit(f"ledger check failed: {payments=} {charges=} {paid=} {paid_requests=}")
    return f"{payments} payments = {charges} processor charges, ledger exact"


async def _postgres_database() -> tuple[str, str]:
    import asyncpg

    from tests.services import POSTGRES_URL

    name = f"carepay_bench_{os.getpid()}"
    conn = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{POSTGRES_URL}/{name}", name


async def _drop_postgres(name: str) -> None:
    import asyncpg

    from tests.services import POSTGRES_URL

    conn = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass(frozen=True)
class Figures:
    """One database's rates per connection count, one per round, and its ledger check."""

    viewer: dict[int, list[float]]
    pay: dict[int, list[float]]
    check: str

    def ratio(self, conns: int) -> float:
        """Mean payBill rate over mean viewer rate."""
        return statistics.mean(self.pay[conns]) / statistics.mean(self.viewer[conns])

    def peak(self, kind: str) -> tuple[float, int]:
        """The highest mean rate of a kind of request ("viewer" or "pay") over the
        connection counts, and the count it came at: the worker's capacity for it."""
        rates = self.viewer if kind == "viewer" else self.pay
        return max((statistics.mean(r), conns) for conns, r in rates.items())

    def spread(self, conns: int) -> tuple[float, float]:
        """The lowest and highest ratio of one round's adjacent viewer and payBill phases."""
        ratios = [p / v for p, v in zip(self.pay[conns], self.viewer[conns], strict=True)]
        return min(ratios), max(ratios)


def _run_backend(database_url: str, args: argparse.Namespace) -> Figures:
    from tests.e2e.server import ServerProcess

    members = tuple(asyncio.run(seed(database_url)))
    rates: dict[tuple[str, int], list[float]] = {}
    paid = 0
    with (
        ServerProcess(database_url, workers=1, migrate=False) as server,
        multiprocessing.get_context("spawn").Pool(args.clients) as pool,
    ):
        for n in range(args.rounds):
            if n:
                server.restart()  # one server process's speed is not the next one's
            plan = [(f"warm{n}", args.connections[0], WARM_SECONDS)]
            plan += [(f"r{n}", conns, args.seconds) for conns in args.connections]
            for tag, conns, seconds in plan:
                for kind in ("viewer", "pay"):
                    load = Load(server.port, kind, members, seconds, conns, f"{tag}{conns}{kind}")
                    done = measure(pool, load, args.clients)
                    paid += done if kind == "pay" else 0
                    if not tag.startswith("warm"):
                        rates.setdefault((kind, conns), []).append(done / seconds)
        if "Traceback" in server.log():
            raise SystemExit(server.log()[-4000:])
    return Figures(
        viewer={c: rates["viewer", c] for c in args.connections},
        pay={c: rates["pay", c] for c in args.connections},
        check=asyncio.run(verify(database_url, paid)),
    )


def on_postgres(run: Callable[[str], T]) -> T:
    """`run(url)` on a PostgreSQL database created for it, dropped afterwards."""
    url, name = asyncio.run(_postgres_database())
    try:
        return run(url)
    finally:
        asyncio.run(_drop_postgres(name))


def positive_ints(text: str) -> list[int]:
    """A comma-separated list of positive integers, as an argparse type: "16,32"."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list like 16,32") from None
    if min(values) < 1:
        raise argparse.ArgumentTypeError("the values must be positive integers")
    return values


def main() -> None:
    from tests.db import sqlite_database_url

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--connections", type=positive_ints, default=[16, 32, 64, 128], help="comma-separated"
    )
    parser.add_argument("--clients", type=int, default=2, help="client OS processes")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    results: dict[str, Figures] = {}
    sqlite_url = sqlite_database_url()
    results["SQLite"] = _run_backend(sqlite_url, args)
    if not args.skip_postgres:
        results["PostgreSQL"] = on_postgres(lambda url: _run_backend(url, args))

    print(
        f"one uvicorn worker; keep-alive connections shared by {args.clients} client "
        f"processes; mean of {args.rounds} x {args.seconds:g}s per figure"
    )
    header = f"{'database':12s} {'conns':>5s} {'viewer{id}/s':>13s} {'payBill/s':>10s}"
    print(f"{header} {'ratio':>6s} {'per round':>9s}  check")
    for backend, figures in results.items():
        for conns in args.connections:
            viewer = statistics.mean(figures.viewer[conns])
            pay = statistics.mean(figures.pay[conns])
            low, high = figures.spread(conns)
            row = f"{backend:12s} {conns:5d} {viewer:13.0f} {pay:10.0f} {figures.ratio(conns):6.2f}"
            print(f"{row} {low:.2f}-{high:.2f}  {figures.check}")
    if len(args.connections) > 1:
        for backend, figures in results.items():
            (viewer, at_v), (pay, at_p) = figures.peak("viewer"), figures.peak("pay")
            print(
                f"{backend:12s} peak: viewer{{id}} {viewer:.0f}/s at {at_v}, "
                f"payBill {pay:.0f}/s at {at_p}, ratio {pay / viewer:.2f}"
            )


if __name__ == "__main__":
    main()
