"""Where one uvicorn worker's time goes per request: payBill next to `viewer { id }`.

    .venv/bin/python -m bench.bench_layers [--seconds 10] [--connections 16] [--sqlite]

Seeds a fresh database as bench_paybill does (PostgreSQL, created for the run and
dropped after, or with `--sqlite` a new SQLite file), starts `carepay serve --workers 1`,
warms it up, and then drives each kind of request for `--seconds` while py-spy (a dev
extra) samples the worker 200 times a second. py-spy pauses the worker for each sample,
so every stack is whole, and the rates run about 10-15% below bench_paybill's; both
kinds pay that alike. It reads the worker's memory, so it needs ptrace rights (root, or
kernel.yama.ptrace_scope 0). It samples every thread: on SQLite, aiosqlite's thread
runs the statements, and its time is a layer of its own.

Each sample goes to the first layer below that one of its frames belongs to, so a
layer holds everything beneath it (the ledger's database calls are the ledger's). The
table gives each layer's worker time per request in ms, and the sum. A worker busy for
both kinds runs payBill at the viewer's time over payBill's times the viewer's rate:
that ratio is printed next to the measured one, with the time per payBill the 0.5
target allows. On PostgreSQL the worker is one thread and the ratio is a ceiling; on
SQLite the statements' thread partly overlaps the loop's, so it is an estimate.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.bench_paybill import Load, measure, on_postgres, seed

ROOT = Path(__file__).resolve().parent.parent
PY_SPY = Path(sys.executable).parent / "py-spy"
RATE = 200  # samples a second
WARM_SECONDS = 2.0
# (layer, frame files that put a sample in it), first match wins.
LAYERS = [
    ("other threads (SQLite's)", ["(threading.py"]),
    ("ledger transaction", ["(resolvers/payment_ledger.py"]),
    ("processor call", ["(adapters/sandbox.py", "(adapters/processor.py"]),
    ("sign-in", ["(graph/auth.py", "(resolvers/access.py"]),
    ("payBill outside the ledger", ["(resolvers/pay", "(resolvers/idempotency.py"]),
    ("outbox relay", ["(resolvers/relay.py"]),
    ("GraphQL (Strawberry, graphql-core)", ["(strawberry/", "(graphql/", "(graph/"]),
    ("HTTP (uvicorn, Starlette)", ["(uvicorn/", "(starlette/", "(app.py"]),
    ("database driver elsewhere", ["(asyncpg/", "(tortoise/", "(aiosqlite/", "(models/"]),
]
LOOP = "event loop and the rest"
LOOP_FRAME = "(asyncio/runners.py"  # asyncio.Runner.run: above it, the task that runs


@dataclass(frozen=True)
class Profile:
    """One kind of request's sampled stacks (their counts), and how many requests it
    completed."""

    kind: str
    requests: int
    stacks: Counter[str]

    def ms(self, layer: str | None = None) -> float:
        """Worker time per request in ms, in one layer or (None) in all."""
        count = sum(n for stack, n in self.stacks.items() if layer in (None, layer_of(stack)))
        return self.per_request(count)

    def per_request(self, samples: int) -> float:
        return 1000 * samples / RATE / self.requests

    def functions(self, layer: str) -> Counter[str]:
        """The samples of one layer by every function on their stacks (inclusive)."""
        found: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            if layer_of(stack) == layer:
                for function in {frame.rpartition(":")[0] for frame in _above_loop(stack)}:
                    found[function] += n
        return found


def _above_loop(stack: str) -> list[str]:
    """The frames of a sampled stack ("frame;frame;..." as py-spy's raw format writes)
    above the event loop: the main thread's stacks all start in uvicorn.run."""
    _, loop, above = stack.partition(LOOP_FRAME)
    return (above if loop else stack).strip(";").split(";")


def layer_of(stack: str) -> str:
    """The layer of one sampled stack, judged by its frames above the event loop."""
    frames = ";".join(_above_loop(stack))
    for layer, files in LAYERS:
        if any(f in frames for f in files):
            return layer
    return LOOP


def read_stacks(path: Path) -> Counter[str]:
    """py-spy's raw output, a line per stack: "frame;frame;... count"."""
    stacks: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        stacks[stack] += int(count)
    return stacks


def profile(pool: multiprocessing.pool.Pool, load: Load, pid: int, clients: int) -> Profile:
    """Drive `load` while py-spy samples the worker."""
    with tempfile.TemporaryDirectory(prefix="carepay-layers-") as folder:
        out = Path(folder) / "samples.txt"
        command = [str(PY_SPY), "record", "--pid", str(pid), "--rate", str(RATE)]
        command += ["--duration", str(int(load.seconds)), "--format", "raw", "--output", str(out)]
        spy = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        done = measure(pool, load, clients)
        _, errors = spy.communicate(timeout=60)
        if spy.returncode or not out.exists():
            raise SystemExit(f"py-spy failed (it needs ptrace rights):\n{errors}")
        return Profile(load.kind, done, read_stacks(out))


def run(database_url: str, args: argparse.Namespace) -> list[Profile]:
    from tests.e2e.server import ServerProcess

    members = tuple(asyncio.run(seed(database_url)))
    profiles = []
    with (
        ServerProcess(database_url, workers=1, migrate=False) as server,
        multiprocessing.get_context("spawn").Pool(args.clients) as pool,
    ):
        if server.process is None:
            raise SystemExit("the server did not start")
        for kind in ("viewer", "pay"):
            warm = Load(server.port, kind, members, WARM_SECONDS, args.connections, f"w{kind}")
            measure(pool, warm, args.clients)
        for kind in ("viewer", "pay"):
            load = Load(server.port, kind, members, args.seconds, args.connections, kind)
            profiles.append(profile(pool, load, server.process.pid, args.clients))
    return profiles


def report(viewer: Profile, pay: Profile, seconds: int) -> None:
    print(f"{'worker ms per request':36s} {'viewer{id}':>10s} {'payBill':>8s}")
    for layer in [name for name, _ in LAYERS] + [LOOP]:
        print(f"{layer:36s} {viewer.ms(layer):10.3f} {pay.ms(layer):8.3f}")
    print(f"{'all':36s} {viewer.ms():10.3f} {pay.ms():8.3f}")
    rates = [p.requests / seconds for p in (viewer, pay)]
    print(f"requests/s while sampled: viewer{{id}} {rates[0]:.0f}, payBill {rates[1]:.0f}")
    print(
        f"ratio measured {rates[1] / rates[0]:.2f}; by the times above "
        f"{viewer.ms() / pay.ms():.2f}; 0.5 allows {2 * viewer.ms():.3f} ms per payBill"
    )


def detail(viewer: Profile, pay: Profile, layer: str, top: int) -> None:
    """The functions that cost payBill most more than the viewer within a layer,
    leaving out those on nearly every payBill stack of it (the frames below them)."""
    print(f"\nwithin {layer!r}, ms per request, by the function on the stack (inclusive):")
    mine, theirs = pay.functions(layer), viewer.functions(layer)
    everywhere = 0.95 * sum(n for stack, n in pay.stacks.items() if layer_of(stack) == layer)
    extra = {
        function: pay.per_request(n) - viewer.per_request(theirs[function])
        for function, n in mine.items()
        if function and n < everywhere
    }
    for function in sorted(extra, key=extra.__getitem__, reverse=True)[:top]:
        before, after = viewer.per_request(theirs[function]), pay.per_request(mine[function])
        print(f"{before:7.3f} {after:7.3f}  {function})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--clients", type=int, default=2, help="client OS processes")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument(
        "--detail", action="append", default=[], help="a layer (its name's start) to open up"
    )
    parser.add_argument("--top", type=int, default=15, help="functions per --detail")
    args = parser.parse_args()
    names = [name for name, _ in LAYERS] + [LOOP]
    opened = [next((n for n in names if n.startswith(d)), d) for d in args.detail]
    if unknown := [d for d in opened if d not in names]:
        raise SystemExit(f"no layer starts with {unknown[0]!r}; the layers: {names}")
    if not PY_SPY.exists():
        raise SystemExit(f"{PY_SPY} is missing: install the dev extras (make test does)")
    if args.sqlite:
        folder = Path(tempfile.mkdtemp(prefix="carepay-bench-"))
        viewer, pay = run(f"sqlite://{folder / 'bench.sqlite3'}", args)
    else:
        viewer, pay = on_postgres(lambda url: run(url, args))
    database = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"one uvicorn worker on {database}, {args.connections} connections, {args.seconds}s each")
    report(viewer, pay, args.seconds)
    for layer in opened:
        detail(viewer, pay, layer, args.top)


if __name__ == "__main__":
    main()
