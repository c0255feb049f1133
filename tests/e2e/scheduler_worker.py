"""`carepay scheduler run-once` in a process that starts on a signal and can die on cue.

    python -m tests.e2e.scheduler_worker [--crash POINT] -- scheduler run-once --at ISO

The process imports everything, prints "ready", waits for a line on stdin (so the
test can start several at the same instant), then runs the command. With --crash
it ends itself with os._exit(CRASH_EXIT) — no cleanup, no commit, like a kill —
at one point of the run:

    claimed     after the autopay claim is committed, before pay_bill
    reserved    inside pay_bill, after the payment is reserved, before the processor
    processor   after the processor charged, before its answer is recorded
    paid        after pay_bill returned, before the outcome is recorded
    reminder:N  after N reminders were sent
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

CRASH_EXIT = 86


def _die(*_: object, **__: object) -> Any:
    sys.stdout.flush()
    os._exit(CRASH_EXIT)


def _after(call: Callable[..., Awaitable[Any]], *, times: int = 1) -> Callable[..., Any]:
    """`call`, ending the process once it has returned `times` times."""
    done = 0

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal done
        result = await call(*args, **kwargs)
        done += result is not None
        if done >= times:
            _die()
        return result

    return wrapper


def install(point: str) -> None:
    """Make the coming run die at `point`."""
    import adapters.sandbox
    import resolvers.autopay_charges
    import resolvers.payments
    import resolvers.reminders

    if point == "claimed":
        resolvers.autopay_charges.pay_bill = _die  # type: ignore[assignment]
    elif point == "reserved":
        resolvers.payments._charge = _die  # type: ignore[assignment]
    elif point == "processor":
        sandbox = adapters.sandbox.SandboxProcessor
        sandbox.charge = _after(sandbox.charge)  # type: ignore[method-assign]
    elif point == "paid":
        charges = resolvers.autopay_charges
        charges.pay_bill = _after(charges.pay_bill)  # type: ignore[assignment]
    elif point.startswith("reminder:"):
        count = int(point.partition(":")[2])
        reminders = resolvers.reminders
        reminders.send_once = _after(reminders.send_once, times=count)  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown crash point {point!r}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--crash")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    import cli
    import resolvers.scheduler  # noqa: F401  (imported before the start signal)

    if args.crash:
        install(args.crash)
    print("ready", flush=True)
    sys.stdin.readline()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return cli.main(command)


if __name__ == "__main__":
    raise SystemExit(main())
