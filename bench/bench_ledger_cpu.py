"""CPU per payBill below HTTP, by how many payments share a ledger batch.

    .venv/bin/python -m bench.bench_ledger_cpu [--batches 1,2,4,8,16,32] [--payments 400]
        [--mixed 24]

One process, one event loop (uvloop): a fresh database (SQLite and, unless
`--skip-postgres`, a PostgreSQL database created for the run and dropped after) with 64
members, each with a bill and a saved card. For each batch size k the run starts k
`pay_bill` calls at once (distinct members, 1.00 each, a new key per call), waits for
all of them, and repeats until `--payments` payments are made; it prints the process's
CPU time and the wall time per payment. The k calls share their ledger transactions
and the sandbox's charge insert (models/group_commit.py), so k stands for the batch
sizes the server sees under load. Afterwards, as in bench_paybill, the database must
hold one payment and one processor charge per call, with every ledger exact.

With `--mixed N` (24 unless 0) each pass ends with a row "1-N" whose rounds draw k at
random from 1 to N (the same draws in every run), as a server's batches vary with its
load. A statement whose text depends on k is a statement of its own for each k, and
asyncpg keeps 100 prepared statements per connection: past that, each miss costs a
round trip more to prepare it again. The ledger's statements do not depend on k on
PostgreSQL (models/bulk.py), so this row costs about what the fixed k around its mean
cost.

No HTTP, no sign-in and no GraphQL: this isolates what the ledger and the sandbox cost,
and, as it measures CPU time rather than a rate, it moves less with the machine's
noise than bench_paybill does. Each size runs twice, in two passes, to show the spread.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_paybill import database, on_postgres, positive_ints, verify  # noqa: E402

MEMBERS = 64


async def _measure(database_url: str, sizes: list[int], payments: int, mixed: int) -> list[str]:
    from models.migrate import apply_migrations
    from resolvers.access import load_viewer
    from resolvers.payments import pay_bill
    from tests import factories

    await apply_migrations(database_url)
    lines = []
    made = 0
    async with database(database_url):
        payers = []
        for n in range(MEMBERS):
            person = await factories.member(f"cpu{n}@example.org")
            bill = await factories.bill(await factories.account(person), due=10**10)
            card = await factories.card(person)
            viewer = await load_viewer(person.email, "MEMBER")
            assert viewer is not None
            payers.append((viewer, bill.id, card.id))
        passes: list[int | None] = [*sizes, None] if mixed else list(sizes)
        for k_or_mixed in passes + passes:
            draws = random.Random(mixed)
            mean = (1 + mixed) / 2 if k_or_mixed is None else k_or_mixed
            rounds = max(10, int(payments // mean))
            cpu, wall, count = time.process_time(), time.perf_counter(), 0
            for _ in range(rounds):
                k = draws.randint(1, mixed) if k_or_mixed is None else k_or_mixed
                calls = []
                for i in range(k):
                    viewer, bill_id, method_id = payers[(made + i) % MEMBERS]
                    call = pay_bill(
                        viewer=viewer,
                        bill_id=bill_id,
                        amount=100,
                        method_id=method_id,
                        idempotency_key=f"cpu-{made + i}",
                    )
                    calls.append(call)
                await asyncio.gather(*calls)
                made += k
                count += k
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            label = f"1-{mixed}" if k_or_mixed is None else str(k_or_mixed)
            lines.append(
                f"{label:>5s} {1000 * cpu / count:12.3f} {1000 * wall / count:13.3f} {count:9d}"
            )
    lines.append("check: " + await verify(database_url, made))
    return lines


def _run(database_url: str, args: argparse.Namespace) -> list[str]:
    import uvloop

    return uvloop.run(_measure(database_url, args.batches, args.payments, args.mixed))


def main() -> None:
    from tests.db import sqlite_database_url

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=positive_ints, default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--payments", type=int, default=400, help="per batch size and pass")
    parser.add_argument("--mixed", type=int, default=24, help="k drawn from 1-N; 0: no such row")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    results: dict[str, list[str]] = {}
    if not args.skip_sqlite:
        results["SQLite"] = _run(sqlite_database_url(), args)
    if not args.skip_postgres:
        results["PostgreSQL"] = on_postgres(lambda url: _run(url, args))
    for backend, lines in results.items():
        print(f"{backend}: pay_bill calls started together (k), per payment")
        print(f"{'k':>5s} {'CPU ms':>12s} {'wall ms':>13s} {'payments':>9s}")
        for line in lines:
            print(line)


if __name__ == "__main__":
    main()
