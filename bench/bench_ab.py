"""This checkout against another source tree: two servers on one database, loaded in turn.

    git worktree add /tmp/before <commit>
    .venv/bin/python -m bench.bench_ab /tmp/before  # --pairs 4 --seconds 3 --connections 16

Both trees must share the database schema. The run seeds the members of
bench_paybill on one database (PostgreSQL, created for the run and dropped after; or
a SQLite file), starts `carepay serve --workers 1` from each tree on it, warms both up,
then measures `viewer { id }` and payBill in turn on each server, `--pairs` times,
the order of the servers alternating from one pair to the next. Each phase gives the
request rate; per request the CPU of the server's worker, of every PostgreSQL process
on the machine and of the client processes (from /proc); how busy the worker was, and
how many of the machine's cores were. Every payBill answer is checked, and so is the
ledger afterwards. One server process can run up to 15% faster than the next with the
same code, so a difference is worth believing only if it holds over several runs (each
starts new server processes).
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


def _process_cpu(pid: int) -> tuple[str, float]:
    """A process's name and its user and system CPU seconds (0 if it is gone)."""
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        raw = Path(f"/proc/{pid}/stat").read_text()
        fields = raw.rsplit(")", 1)[1].split()
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        return name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return "", 0.0


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(each) for each in found.stdout.split()]


@dataclass(frozen=True)
class Usage:
    """CPU seconds used so far: the server's worker, PostgreSQL's processes, this run's
    client processes, and the whole machine (every core, every process)."""

    worker: float
    postgres: float
    clients: float
    machine: float

    @classmethod
    def now(cls, server_pid: int, servers: set[int]) -> Usage:
        """`servers`: the pids of every server this run started, none of them a client."""
        worker = sum(_process_cpu(each)[1] for each in [server_pid, *_children(server_pid)])
        postgres = 0.0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                name, seconds = _process_cpu(int(entry.name))
                postgres += seconds if name == "postgres" else 0.0
        mine = set(_children(os.getpid())) - servers
        clients = sum(_process_cpu(each)[1] for each in mine)
        jiffies = [int(n) for n in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = jiffies[3] + jiffies[4]  # idle and iowait
        machine = (sum(jiffies) - idle) / os.sysconf("SC_CLK_TCK")
        return cls(worker, postgres, clients, machine)

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.worker - other.worker,
            self.postgres - other.postgres,
            self.clients - other.clients,
            self.machine - other.machine,
        )


@dataclass(frozen=True)
class Phase:
    """One measured phase: requests per second, and per request the CPU milliseconds of
    the worker, of PostgreSQL and of the clients; how busy the worker was, and how many
    of the machine's cores were."""

    rate: float
    worker_ms: float
    postgres_ms: float
    clients_ms: float
    worker_busy: float
    machine_cores: float


@dataclass
class Side:
    """One server's phases per kind of request."""

    name: str
    phases: dict[str, list[Phase]] = field(default_factory=dict)

    def lines(self) -> Iterator[str]:
        for kind in KINDS:
            phases = self.phases[kind]
            yield (
                f"{self.name:<6} {kind:<7} {_span(phases, 'rate', '5.0f')}/s; CPU ms/request: "
                f"worker {_span(phases, 'worker_ms', '.2f')}, "
                f"PostgreSQL {_span(phases, 'postgres_ms', '.2f')}, "
                f"clients {_span(phases, 'clients_ms', '.2f')}; "
                f"worker busy {_span(phases, 'worker_busy', '.0%')}, "
                f"machine {_span(phases, 'machine_cores', '.2f')} of {os.cpu_count()} cores"
            )
        pays = [p.rate for p in self.phases["pay"]]
        views = [p.rate for p in self.phases["viewer"]]
        ratios = [p / v for p, v in zip(pays, views, strict=True)]
        yield (
            f"{self.name:<6} payBill/viewer {min(ratios):.2f}-{max(ratios):.2f} per pair, "
            f"{statistics.mean(pays) / statistics.mean(views):.2f} of the means"
        )


def _span(phases: list[Phase], figure: str, form: str) -> str:
    """The lowest and highest value of one figure over the phases."""
    values = [getattr(phase, figure) for phase in phases]
    return f"{min(values):{form}}-{max(values):{form}}"


def _phase(
    pool: multiprocessing.pool.Pool,
    servers: list[ServerProcess],
    index: int,
    load: Load,
    clients: int,
) -> tuple[int, Phase]:
    """Requests done, and the phase's figures, for the load on `servers[index]`."""
    pids = {server.process.pid for server in servers if server.process is not None}
    process = servers[index].process
    assert process is not None
    before, start = Usage.now(process.pid, pids), time.monotonic()
    done = measure(pool, load, clients)
    used, wall = Usage.now(process.pid, pids) - before, time.monotonic() - start
    each = 1000 / max(done, 1)
    phase = Phase(
        rate=done / wall,
        worker_ms=used.worker * each,
        postgres_ms=used.postgres * each,
        clients_ms=used.clients * each,
        worker_busy=used.worker / wall,
        machine_cores=used.machine / wall,
    )
    return done, phase


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
                    done, phase = _phase(pool, servers, index, load, args.clients)
                    paid += done if kind == "pay" else 0
                    if n:
                        sides[index].phases.setdefault(kind, []).append(phase)
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
