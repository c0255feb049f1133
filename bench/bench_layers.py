"""Where one uvicorn worker's time goes per request: payBill next to `viewer { id }`.

    .venv/bin/python -m bench.bench_layers [--seconds 10] [--connections 16] [--sqlite]
                                           [--detail LAYER ...] [--top 15]

Seeds a fresh database as bench_paybill does (PostgreSQL, created for the run and
dropped after, or with `--sqlite` a new SQLite file), starts `carepay serve --workers 1`,
warms it up, and then drives each kind of request for `--seconds` while py-spy (a dev
extra) samples the worker 200 times a second. py-spy pauses the worker for each sample,
so every stack is whole; the pauses slow the worker by 10-15%, which the figures
include, for both kinds alike. py-spy reads the worker's memory, so it needs ptrace
rights (root, or kernel.yama.ptrace_scope 0). It samples every thread and leaves out
those waiting: on SQLite, aiosqlite's thread runs the statements.

Each sample of the event loop's thread goes to the first layer below that one of its
frames above the loop belongs to, so a layer holds everything beneath it (the ledger's
database calls are the ledger's); a sample of any other thread goes to "other threads".
The table gives each layer's worker time per request in ms, and the sum. A worker busy
for both kinds runs payBill at the viewer's time over payBill's times the viewer's
rate: that ratio is printed next to the measured one, with the time per payBill the
0.5 target allows. On PostgreSQL the worker is one thread and the ratio is a ceiling;
on SQLite the statements' thread partly overlaps the loop's, so it is an estimate.
With about 2,000 samples a kind, a small layer's figure varies by 10-20% between runs.

`--detail` opens up a layer: the functions on its stacks (inclusive) that cost payBill
most more than the viewer, leaving out those on nearly all of the layer's stacks.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.bench_paybill import Load, measure, on_postgres, seed

ROOT = Path(__file__).resolve().parent.parent
PY_SPY = Path(sys.executable).parent / "py-spy"
RATE = 200  # samples a second
WARM_SECONDS = 2.0
ATTACH_SECONDS = 1.0  # py-spy's head start, so that it samples from the first request
LIBRARY = "/site-packages/"
OURS = f"{ROOT}/"
STDLIB = sysconfig.get_paths()["stdlib"] + "/"
# (layer, the files whose frames put a sample in it: the start of their full path, or a
# part of it), first match wins; py-spy writes each frame as "function (path:line)".
LAYERS = [
    ("ledger transaction", [f"{OURS}resolvers/payment_ledger.py"]),
    ("processor call", [f"{OURS}adapters/sandbox.py", f"{OURS}adapters/processor.py"]),
    (
        "payBill outside the ledger",
        [
            f"{OURS}resolvers/{name}.py"
            for name in (
                "payments",
                "payment_reserve",
                "payment_moves",
                "payment_states",
                "payment_errors",
                "idempotency",
                "to_the_end",
            )
        ],
    ),
    ("sign-in", [f"{OURS}graph/auth.py"]),
    ("outbox relay", [f"{OURS}resolvers/relay.py"]),
    ("GraphQL (Strawberry, graphql-core)", [f"{LIBRARY}strawberry/", f"{LIBRARY}graphql/"]),
    ("HTTP (uvicorn, Starlette)", [f"{LIBRARY}uvicorn/", f"{LIBRARY}starlette/"]),
    (
        "models, database driver elsewhere",
        [f"{OURS}models/", f"{LIBRARY}tortoise/", f"{LIBRARY}asyncpg/", f"{LIBRARY}aiosqlite/"],
    ),
]
LOOP = "event loop and the rest"
THREADS = "other threads (SQLite's)"
NAMES = [THREADS] + [name for name, _ in LAYERS] + [LOOP]
LOOP_FRAME = f"({STDLIB}asyncio/runners.py:"  # asyncio.Runner.run: above it, a task


@dataclass(frozen=True)
class Profile:
    """The sampled stacks of one kind of request (their counts), and how many requests
    it completed."""

    requests: int
    stacks: Counter[str]

    def samples(self, layer: str) -> int:
        return sum(n for stack, n in self.stacks.items() if layer_of(stack) == layer)

    def ms(self, layer: str | None = None) -> float:
        """Worker time per request in ms, in one layer or (None) in all."""
        return self.per_request(self.stacks.total() if layer is None else self.samples(layer))

    def per_request(self, samples: int) -> float:
        """The worker time of `samples` samples, in ms per request."""
        return 1000 * samples / RATE / max(self.requests, 1)

    def functions(self, layer: str) -> Counter[str]:
        """The samples of one layer by every function on their stacks above the loop."""
        found: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            if layer_of(stack) == layer:
                for function in {_short(frame) for frame in _above_loop(stack) or []}:
                    found[function] += n
        return found


def _above_loop(stack: str) -> list[str] | None:
    """The frames of a sampled stack ("frame;frame;..." as py-spy's raw format writes)
    above the event loop's last frame; None for a stack of another thread."""
    frames = stack.split(";")
    loop = [n for n, frame in enumerate(frames) if LOOP_FRAME in frame]
    return frames[loop[-1] + 1 :] if loop else None


def _short(frame: str) -> str:
    """A frame without its line, and its path from the package or the project."""
    function = frame.rpartition(":")[0] + ")"
    for prefix in (OURS, STDLIB):
        function = function.replace(f"({prefix}", "(")
    head, _, path = function.partition(LIBRARY)
    return f"{head.rpartition('(')[0]}({path}" if path else function


def layer_of(stack: str) -> str:
    """The layer of one sampled stack."""
    frames = _above_loop(stack)
    if frames is None:
        return THREADS
    text = ";".join(frames)
    for layer, files in LAYERS:
        if any(path in text for path in files):
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
    """Drive `load` while py-spy samples the worker (started first, and stopping after
    the load: a worker waiting for requests gives no samples)."""
    with tempfile.TemporaryDirectory(prefix="carepay-layers-") as folder:
        out = Path(folder) / "samples.txt"
        seconds = int(load.seconds + 2 * ATTACH_SECONDS + 1)
        command = [str(PY_SPY), "record", "--pid", str(pid), "--rate", str(RATE)]
        command += ["--duration", str(seconds), "--format", "raw", "--full-filenames"]
        spy = subprocess.Popen(
            [*command, "--output", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(ATTACH_SECONDS)
            done = measure(pool, load, clients)
            _, errors = spy.communicate(timeout=seconds + 30)
        finally:
            spy.kill()  # never left attached to the worker
        if spy.returncode or not out.exists():
            raise SystemExit(f"py-spy failed (it needs ptrace rights):\n{errors}")
        return Profile(done, read_stacks(out))


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
    for layer in NAMES:
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
    print(f"\nwithin {layer!r}, ms per request (inclusive):")
    print(f"{'viewer':>7s} {'payBill':>7s}  function")
    mine, theirs = pay.functions(layer), viewer.functions(layer)
    everywhere = 0.95 * pay.samples(layer)
    extra = {
        function: pay.per_request(n) - viewer.per_request(theirs[function])
        for function, n in mine.items()
        if n < everywhere
    }
    if not extra:
        print("   (no frames above the loop's own: its work in C, or another thread's)")
    for function in sorted(extra, key=extra.__getitem__, reverse=True)[:top]:
        were, are = viewer.per_request(theirs[function]), pay.per_request(mine[function])
        print(f"{were:7.3f} {are:7.3f}  {function}")


def layer_named(start: str) -> str:
    """The one layer whose name starts so; SystemExit if none or several do."""
    found = [name for name in NAMES if name.startswith(start)]
    if len(found) != 1:
        raise SystemExit(f"{start!r} names {len(found)} layers; the layers: {NAMES}")
    return found[0]


def main() -> None:
    from tests.db import sqlite_database_url

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
    opened = [layer_named(start) for start in args.detail]
    if not PY_SPY.exists():
        raise SystemExit(f"{PY_SPY} is missing: install the dev extras (make test does)")
    if args.sqlite:
        viewer, pay = run(sqlite_database_url(), args)
    else:
        viewer, pay = on_postgres(lambda url: run(url, args))
    database = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"one uvicorn worker on {database}, {args.connections} connections, {args.seconds}s each")
    report(viewer, pay, args.seconds)
    for layer in opened:
        detail(viewer, pay, layer, args.top)


if __name__ == "__main__":
    main()
