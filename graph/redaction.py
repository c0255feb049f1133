"""Card numbers never reach a log or an error: the schema scrubs every error it reports,
and logs it without the values a client sent (bank account numbers among them)."""

import logging
import re
from typing import Any

from graphql import GraphQLError
from strawberry import Schema
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.utils.logging import StrawberryLogger

from models.validation import redact_card_numbers


def scrub(error: BaseException) -> None:
    """Remove card-number-like digits from an error and every exception behind it.

    graphql-core and Strawberry quote the offending value when a variable does not
    fit its type ('Value cannot represent a Decimal: "4242..."'), and Strawberry logs
    errors with their original exception; both pass through here first.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        if isinstance(exc, GraphQLError):
            exc.message = redact_card_numbers(exc.message)
            pending.append(exc.original_error)
        exc.args = tuple(redact_card_numbers(a) if isinstance(a, str) else a for a in exc.args)
        pending += [exc.__cause__, exc.__context__]


# A run of 4 digits or more in a logged error came from the client's input: an account
# number, say, which only ever appears masked.
_LONG_NUMBER = re.compile(r"\d{4,}")


def logged(error: GraphQLError) -> str:
    """How an error is logged: its message, its numbers masked, where it points and its
    path, but not the document's lines (str(error) quotes them, with every value in them)."""
    text = _LONG_NUMBER.sub("[number removed]", redact_card_numbers(error.message))
    if error.locations:
        text += " at " + ", ".join(f"{at.line}:{at.column}" for at in error.locations)
    if error.path:
        text += " in " + ".".join(str(key) for key in error.path)
    return text


class CarepaySchema(Schema):
    """Strawberry's schema, scrubbing errors before they are logged or returned."""

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        try:
            return await super().execute(*args, **kwargs)
        except CannotGetOperationTypeError as exc:
            # Strawberry's HTTP view answers 'Unknown operation named "<operationName>"'.
            if exc.operation_name is None:
                raise
            named = redact_card_numbers(exc.operation_name)
            raise CannotGetOperationTypeError(named) from None

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            scrub(error)
            # Logged as Strawberry does, but as text (see `logged`). An error about the
            # request (a value that does not fit its type, say) comes with no traceback: its
            # original error quotes the value again, and there is no fault of ours to trace.
            fault = error.original_error
            if isinstance(fault, GraphQLError):
                fault = None
            StrawberryLogger.logger.error(logged(error), exc_info=fault)


class QueryStringFilter(logging.Filter):
    """Uvicorn's access log without query strings: a GraphQL query sent by GET (and any
    token or card number written in it) would be logged whole, as it is in the URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path, asked, _ = args[2].partition("?")
            if asked:
                record.args = (*args[:2], path + "?[query removed]", *args[3:])
        return True


def quiet_access_log() -> None:
    """Install QueryStringFilter on uvicorn's access log (once per process)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QueryStringFilter) for f in access.filters):
        access.addFilter(QueryStringFilter())
