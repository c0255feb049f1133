"""The `carepay` command: serve, migrate, seed, token, export-schema, scheduler."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from adapters.clock import set_timezone
from settings import Settings, SettingsError

if TYPE_CHECKING:
    from resolvers.scheduler import RunReport


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from models.db import DatabaseUnreachable, check_sqlite_file, sqlite_file

    # A SQLite file that cannot be opened fails the start anyway (app.py): say so in one
    # line. (Not through Tortoise: the app opens it in this process, once.) A PostgreSQL
    # server that is down is waited for instead.
    if (path := sqlite_file(settings.database_url)) is not None:
        try:
            check_sqlite_file(path)
        except DatabaseUnreachable as exc:
            return _unreachable(exc)

    uvicorn.run(
        "app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        ws_per_message_deflate=settings.ws_compression,
    )
    return 0


def _unreachable(exc: Exception) -> int:
    print(f"carepay: the database (CAREPAY_DATABASE_URL) does not answer: {exc}", file=sys.stderr)
    return 1


class _NotReady(Exception):
    """The database answers, but is not ready for the command (a one-line message)."""


async def _open_answering(settings: Settings) -> None:
    """Open the database, DatabaseUnreachable unless it answers: asked before any work,
    as a SQLite file that cannot be opened leaves Tortoise waiting on its own lock for
    good inside a transaction, and a server that is down answers with a traceback."""
    from models.db import DatabaseUnreachable, check_db, close_db, init_db

    try:
        await init_db(settings.database_url)
    except Exception as exc:
        raise DatabaseUnreachable(str(exc)) from None
    try:
        await check_db()
    except DatabaseUnreachable:
        await close_db()
        raise


def _answered(work: Coroutine[Any, Any, str]) -> int:
    """Run a command's work and print its answer; a database that does not answer, or is
    not ready, is one line on stderr and exit status 1."""
    from models.db import DatabaseUnreachable

    try:
        print(asyncio.run(work))
    except DatabaseUnreachable as exc:
        return _unreachable(exc)
    except _NotReady as exc:
        print(f"carepay: {exc}", file=sys.stderr)
        return 1
    return 0


async def _apply(settings: Settings) -> str:
    from models.db import close_db
    from models.migrate import apply_migrations

    await _open_answering(settings)
    await close_db()  # the migrations open their own
    applied = await apply_migrations(settings.database_url)
    return f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else "")


def _migrate(_: argparse.Namespace, settings: Settings) -> int:
    return _answered(_apply(settings))


async def _seed(settings: Settings, if_empty: bool) -> str:
    from adapters.clock import today
    from models.db import close_db, sqlite_file
    from models.migrate import pending_migrations
    from resolvers.demo import DemoAlreadySeeded, database_is_empty, seed_demo

    path = sqlite_file(settings.database_url)
    if path is not None and not path.exists():  # opening it would make an empty one
        raise _NotReady(f"there is no database at {path}: run `carepay migrate` first")
    await _open_answering(settings)
    try:
        if await pending_migrations():
            raise _NotReady("the database is not migrated: run `carepay migrate` first")
        if if_empty and not await database_is_empty():
            return "demo data already present; nothing to do"
        try:
            summary = await seed_demo(today=today())
        except DemoAlreadySeeded as exc:
            raise SystemExit(f"carepay seed: {exc} (use --if-empty to skip quietly)") from None
        return f"seeded demo data: {summary}"
    finally:
        await close_db()


def _seed_cmd(args: argparse.Namespace, settings: Settings) -> int:
    if not args.demo:
        print("nothing to seed: pass --demo", file=sys.stderr)
        return 2
    return _answered(_seed(settings, args.if_empty))


def _token(args: argparse.Namespace, settings: Settings) -> int:
    from graph.auth import MAX_LIFETIME, AuthError, mint_token
    from models.enums import Role

    longest = int(MAX_LIFETIME.total_seconds() // 3600)
    if not 1 <= args.hours <= longest:
        print(f"carepay token: --hours must be between 1 and {longest}", file=sys.stderr)
        return 2
    try:
        print(mint_token(settings, args.email, role=Role(args.role), hours=args.hours))
    except AuthError as exc:
        print(f"carepay token: {exc}", file=sys.stderr)
        return 2
    return 0


def _export_schema(_: argparse.Namespace, settings: Settings) -> int:
    from strawberry.printer import print_schema

    from graph import build_schema

    print(print_schema(build_schema(settings)))
    return 0


FIRST_YEAR_AT, LAST_YEAR_AT = 2, 9998


def _iso_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO time: {value!r}") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("give a timezone, e.g. 2026-11-20T09:00:00+00:00")
    # The jobs work in UTC, as the server does: one instant, however it is written. They
    # also count days back and ahead of it, which must stay within years 1-9999.
    try:
        at = parsed.astimezone(UTC)
    except OverflowError:
        at = None
    if at is None or not FIRST_YEAR_AT <= at.year <= LAST_YEAR_AT:
        raise argparse.ArgumentTypeError(
            f"{value!r}: give a time in years {FIRST_YEAR_AT}-{LAST_YEAR_AT} (UTC)"
        )
    return at


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {port}")
    return port


async def _run_scheduler_once(settings: Settings, at: datetime) -> tuple[RunReport, list[str]]:
    from adapters.clock import FixedClock, now, set_clock
    from models.db import close_db
    from resolvers.scheduler import run_once
    from resolvers.scheduler_digest import digest

    # An --at ahead of the real time must not forget idempotency keys that clients
    # still hold: keys expire by the real clock.
    keys_until = min(at, now())
    set_clock(FixedClock(at))  # every stamp the jobs write reads "at"
    await _open_answering(settings)
    try:
        report = await run_once(at, settings=settings, keys_until=keys_until)
        return report, await digest(report)
    finally:
        await close_db()


def _scheduler_run_once(args: argparse.Namespace, settings: Settings) -> int:
    logging.basicConfig(level=settings.log_level, stream=sys.stderr)
    from models.db import DatabaseUnreachable

    try:
        report, lines = asyncio.run(_run_scheduler_once(settings, args.at))
    except DatabaseUnreachable as exc:
        return _unreachable(exc)
    print(report)
    for line in lines:  # one per settlement, charge, skip and notice
        print(line)
    return 1 if report.errors else 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="carepay", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API server (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(run=_migrate)

    seed = sub.add_parser("seed", help="load demo data")
    seed.add_argument("--demo", action="store_true", help="the demo household")
    seed.add_argument("--if-empty", action="store_true", help="only into an empty database")
    seed.set_defaults(run=_seed_cmd)

    token = sub.add_parser("token", help="mint a development bearer token")
    token.add_argument("email")
    token.add_argument("--role", choices=["member", "staff"], default="member")
    token.add_argument("--hours", type=int, default=12)
    token.set_defaults(run=_token)

    sub.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(run=_export_schema)

    scheduler = sub.add_parser(
        "scheduler", help="scheduled jobs (ACH settlement, reconciler, reminders, autopay)"
    )
    jobs = scheduler.add_subparsers(dest="scheduler_command", required=True)
    once = jobs.add_parser("run-once", help="run every job due at --at, then exit")
    once.add_argument("--at", type=_iso_time, required=True, help="ISO time with a timezone")
    once.set_defaults(run=_scheduler_run_once)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `carepay` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"carepay: {exc}", file=sys.stderr)
        return 2
    set_timezone(settings.zone)
    return int(args.run(args, settings))


if __name__ == "__main__":
    raise SystemExit(main())
