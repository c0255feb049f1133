"""Run GraphQL documents through the schema as a given member, and count SQL statements."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from strawberry.types import ExecutionResult

from graph import build_schema
from graph.context import Context
from graph.loaders import Loaders
from models.enums import Role
from resolvers.access import load_viewer
from settings import Settings

SETTINGS = Settings.from_env({"CAREPAY_ENV": "test"})
SCHEMA = build_schema(SETTINGS)


async def execute(
    document: str,
    *,
    as_email: str | None,
    staff: bool = False,
    variables: dict[str, Any] | None = None,
    loaders: bool = True,
) -> ExecutionResult:
    """Execute `document` as the member with `as_email` (None: signed out)."""
    viewer = None
    if as_email is not None:
        role = Role.STAFF if staff else Role.MEMBER
        viewer = await load_viewer(as_email, role.value)
    context = Context(settings=SETTINGS, viewer=viewer, loaders=Loaders(enabled=loaders))
    return await SCHEMA.execute(document, variable_values=variables, context_value=context)


async def data_of(document: str, **kwargs: Any) -> dict[str, Any]:
    """Execute and return `data`, failing loudly on any error."""
    result = await execute(document, **kwargs)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            self.statements.append(message)


@contextmanager
def count_statements() -> Iterator[list[str]]:
    """Collect every SQL statement Tortoise sends while the block runs."""
    logger = logging.getLogger("tortoise.db_client")
    counter = _Counter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter.statements
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)
