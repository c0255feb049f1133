"""Subscriber fan-out: 1,000 subscribers on one worker, 20 payments, next to a plain broadcast.

    .venv/bin/python -m bench.bench_subscribers [--subscribers 1000] [--payments 20] [--clients 2]

carepay: a fresh SQLite database with Alex (a bill and a card), `carepay serve --workers
1` (uvloop, httptools, default settings), and N graphql-transport-ws connections from
`--clients` OS processes, each signed in as Alex and subscribed to
`paymentEvents(after:)` from the current outbox position. Then payBill over HTTP,
`--payments` times, 0.5 s apart. Each payment reaches every subscriber as two frames,
PAYMENT_CREATED then PAYMENT_SUCCEEDED. For each payment and subscriber the latency is
the time from payBill's HTTP answer to the subscriber's receipt of the
PAYMENT_SUCCEEDED frame (one clock: CLOCK_MONOTONIC, all processes on one machine).

limit: bench/broadcast_app.py, a plain Starlette WebSocket under the same uvicorn
settings that sends the same frames (the two events of one carepay payment as received,
payment id changed, in the same compact JSON) to every subscriber after answering
POST /publish; the same clients, the same timing from the answer to the receipt.

Reported for both: p50 and p99 over every (payment, subscriber), the last subscriber's
latency per payment (median and worst over payments), missed or duplicated events, and
server memory per idle subscriber (RSS with N idle subscribers minus RSS before, / N).
Also how many of carepay's payments had their PAYMENT_CREATED frames out before payBill
answered (the relay's timer fell between the payment's two transactions): for those,
only the PAYMENT_SUCCEEDED frames are left to send after the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fanout_clients import ClientPlan, Receipts, run_clients  # noqa: E402

DOCUMENT = (
    "subscription Events($after: String) { paymentEvents(after: $after) { cursor type status "
    "payment { id status amount { amount currency } confirmationNumber } } }"
)
PAY = (
    "mutation($input: PayBillInput!) { payBill(input: $input) "
    "{ payment { id status } errors { code } } }"
)


@dataclass(frozen=True)
class Figures:
    """One server's measurements."""

    p50: float
    p99: float
    last_p50: float
    last_max: float
    missed: int
    duplicated: int
    rss_per_subscriber: float
    created_early: int


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _start_clients(url: str, token: str, after: str, args: argparse.Namespace) -> list[Any]:
    context = multiprocessing.get_context("spawn")
    share = args.subscribers // args.clients
    started = []
    for n in range(args.clients):
        parent, child = context.Pipe()
        count = share if n < args.clients - 1 else args.subscribers - share * n
        plan = ClientPlan(url=url, token=token, document=DOCUMENT, after=after, count=count)
        process = context.Process(target=run_clients, args=(plan, child))
        process.start()
        started.append((process, parent))
    for _, parent in started:
        if parent.recv() != "ready":
            raise SystemExit("a client process failed to subscribe")
    return started


def _collect(started: list[Any]) -> tuple[list[Receipts], list[Any]]:
    """Stop the clients; per subscriber, payment id -> event type -> receipt times, and
    the events of one payment as received."""
    for _, parent in started:
        parent.send("stop")
    receipts: list[Receipts] = []
    sample: list[Any] = []
    for process, parent in started:
        got, one = parent.recv()
        receipts += got
        sample = sample or one
        process.join(30)
    return receipts, sample


def _figures(answered: dict[str, float], receipts: list[Receipts], rss: float) -> Figures:
    latencies: list[float] = []
    last: list[float] = []
    missed = duplicated = created_early = 0
    for payment_id, at in answered.items():
        per_payment = []
        created = []
        for subscriber in receipts:
            events = subscriber.get(payment_id, {})
            times = events.get("PAYMENT_SUCCEEDED", [])
            missed += not times
            duplicated += max(0, len(times) - 1)
            per_payment += [(t - at) * 1000 for t in times[:1]]
            created += events.get("PAYMENT_CREATED", [])[:1]
        latencies += per_payment
        last.append(max(per_payment, default=float("nan")))
        created_early += bool(created) and statistics.median(created) < at
    return Figures(
        p50=_percentile(latencies, 0.5),
        p99=_percentile(latencies, 0.99),
        last_p50=statistics.median(last),
        last_max=max(last),
        missed=missed,
        duplicated=duplicated,
        rss_per_subscriber=rss,
        created_early=created_early,
    )


async def _seed(database_url: str) -> tuple[str, str, str]:
    from bench.bench_paybill import database
    from graph.ids import to_global_id
    from models.migrate import apply_migrations
    from tests import factories

    await apply_migrations(database_url)
    async with database(database_url):
        alex = await factories.member("alex@example.org", name="Alex Rivera")
        bill = await factories.bill(await factories.account(alex), due=10**10)
        card = await factories.card(alex)
    return alex.email, to_global_id("Bill", bill.id), to_global_id("PaymentMethod", card.id)


async def _outbox_position(database_url: str) -> str:
    from bench.bench_paybill import database
    from resolvers.event_log import event_cursor, last_id

    async with database(database_url):
        return event_cursor(await last_id())


def run_carepay(args: argparse.Namespace, *, resumable: bool) -> tuple[Figures, list[Any]]:
    """The carepay measurement, and one payment's events as received (the limit's frames).

    Live subscriptions (no `after`) of one viewer share a cohort; `resumable` ones (with
    `after`) each catch up on a stream of their own, then join that cohort.
    """
    import httpx

    from tests.db import sqlite_database_url
    from tests.e2e.server import ServerProcess

    database_url = sqlite_database_url()
    email, bill_id, method_id = asyncio.run(_seed(database_url))
    with ServerProcess(database_url, migrate=False) as server, httpx.Client(timeout=30) as http:
        assert server.process is not None
        headers = server.auth(email)

        def pay(n: int) -> tuple[str, float]:
            variables = {
                "input": {
                    "billId": bill_id,
                    "amount": "1.00",
                    "paymentMethodId": method_id,
                    "idempotencyKey": f"bench-subscribers-{n}",
                }
            }
            answer = http.post(
                server.graphql_url, json={"query": PAY, "variables": variables}, headers=headers
            )
            at = time.monotonic()
            result = answer.json()["data"]["payBill"]
            assert result["errors"] == [] and result["payment"]["status"] == "SUCCEEDED", result
            return result["payment"]["id"], at

        pay(0)  # warm the server up before measuring its memory
        before = _rss(server.process.pid)
        after = asyncio.run(_outbox_position(database_url)) if resumable else "-"
        clients = _start_clients(server.ws_url, server.token(email), after, args)
        time.sleep(2)  # idle subscribers: let the server settle
        rss = (_rss(server.process.pid) - before) / args.subscribers
        pay(1)  # warm-up; by the next payment every stream is live
        time.sleep(1)
        answered = dict(pay(n) for n in range(2, 2 + args.payments) if not time.sleep(0.5))
        time.sleep(2)
        receipts, sample = _collect(clients)
        if "Traceback" in server.log():
            raise SystemExit(server.log()[-4000:])
    return _figures(answered, receipts, rss), sample


def run_limit(args: argparse.Namespace, template: list[Any]) -> Figures:
    """The same clients and timing against the plain broadcast app."""
    import httpx

    from tests.e2e.server import free_port

    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.broadcast_app:app", "--port", str(port)]
    command += ["--loop", "uvloop", "--http", "httptools", "--log-level", "warning"]
    command += ["--ws-per-message-deflate", "false"]  # as `carepay serve` (CAREPAY_WS_COMPRESSION)
    server = subprocess.Popen(command, cwd=ROOT)
    try:
        with httpx.Client(timeout=30) as http:
            for _ in range(200):
                try:
                    http.post(f"http://127.0.0.1:{port}/publish", json={"payloads": []})
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            before = _rss(server.pid)
            clients = _start_clients(f"ws://127.0.0.1:{port}/graphql", "-", "-", args)
            time.sleep(2)
            rss = (_rss(server.pid) - before) / args.subscribers

            def publish(n: int) -> tuple[str, float]:
                payloads = []
                for event in json.loads(json.dumps(template)):
                    event["payment"]["id"] = f"limit-{n}"
                    payloads.append({"data": {"paymentEvents": event}})
                http.post(f"http://127.0.0.1:{port}/publish", json={"payloads": payloads})
                return f"limit-{n}", time.monotonic()

            publish(1)
            time.sleep(1)
            answered = dict(publish(n) for n in range(2, 2 + args.payments) if not time.sleep(0.5))
            time.sleep(2)
            receipts, _ = _collect(clients)
    finally:
        server.terminate()
        server.wait(10)
    return _figures(answered, receipts, rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--payments", type=int, default=20)
    parser.add_argument("--clients", type=int, default=2, help="client OS processes")
    args = parser.parse_args()

    live, template = run_carepay(args, resumable=False)
    if [e["type"] for e in template] != ["PAYMENT_CREATED", "PAYMENT_SUCCEEDED"]:
        raise SystemExit(f"unexpected frames for one payment: {template}")
    resumable, _ = run_carepay(args, resumable=True)
    limit = run_limit(args, template)
    print(f"{args.subscribers} subscribers on one worker, {args.payments} payments, 0.5 s apart")
    print(
        f"{'server':22s} {'p50 ms':>7s} {'p99 ms':>7s} {'last p50':>9s} {'last max':>9s} "
        f"{'missed':>6s} {'dup':>4s} {'KiB/idle sub':>12s}"
    )
    rows = (
        ("carepay, live", live),
        ("carepay, after: cursor", resumable),
        ("plain Starlette limit", limit),
    )
    for name, f in rows:
        print(
            f"{name:22s} {f.p50:7.1f} {f.p99:7.1f} {f.last_p50:9.1f} {f.last_max:9.1f} "
            f"{f.missed:6d} {f.duplicated:4d} {f.rss_per_subscriber / 1024:12.1f}"
        )
    frames = ", ".join(e["type"] for e in template)
    print(f"frames per payment and subscriber: {len(template)} ({frames})")
    for name, f in rows[:2]:
        print(f"{name}: PAYMENT_CREATED out before the answer for {f.created_early} payments")
    for name, f in rows[:2]:
        print(f"last-subscriber p50, {name} / limit: {f.last_p50 / limit.last_p50:.2f}")


if __name__ == "__main__":
    main()
