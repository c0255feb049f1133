"""Card numbers never reach a log or an error: the schema scrubs every error it reports."""

from graphql import GraphQLError
from strawberry import Schema
from strawberry.types import ExecutionContext

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


class CarepaySchema(Schema):
    """Strawberry's schema, scrubbing errors before they are logged or returned."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            scrub(error)
        super().process_errors(errors, execution_context)
