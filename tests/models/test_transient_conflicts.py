"""Which failed transactions lost a race and may run again."""

from __future__ import annotations

import asyncpg
from tortoise.exceptions import IntegrityError, OperationalError

from models.db import is_transient_conflict


def test_deadlocks_serialization_failures_and_a_locked_sqlite_may_run_again() -> None:
    assert is_transient_conflict(asyncpg.exceptions.DeadlockDetectedError("deadlock detected"))
    assert is_transient_conflict(asyncpg.exceptions.SerializationError("could not serialize"))
    try:
        try:
            raise asyncpg.exceptions.DeadlockDetectedError("deadlock detected")
        except asyncpg.exceptions.DeadlockDetectedError as exc:
            raise OperationalError(exc) from exc
    except OperationalError as wrapped:
        assert is_transient_conflict(wrapped)
    assert is_transient_conflict(OperationalError("database is locked"))


def test_other_failures_do_not() -> None:
    assert not is_transient_conflict(IntegrityError("UNIQUE constraint failed"))
    assert not is_transient_conflict(asyncpg.exceptions.UniqueViolationError("duplicate"))
    assert not is_transient_conflict(RuntimeError("bills [1] changed under their row locks"))
