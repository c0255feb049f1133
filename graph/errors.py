"""Top-level errors: codes for clients, masking for production, and the sign-in gate."""

from collections.abc import AsyncIterator, Iterator

from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode
from starlette.responses import Response
from strawberry.extensions import MaskErrors, SchemaExtension

from resolvers.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

_CODES: dict[type[Exception], str] = {
    Unauthenticated: "UNAUTHENTICATED",
    Forbidden: "FORBIDDEN",
    InvalidInput: "BAD_USER_INPUT",
    NotFound: "NOT_FOUND",
}
INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})


def error_code(error: GraphQLError) -> str | None:
    """The client-facing code of an error we raised on purpose, if it is one."""
    if error.extensions and "code" in error.extensions:
        return str(error.extensions["code"])
    original = error.original_error
    for kind, code in _CODES.items():
        if isinstance(original, kind):
            return code
    if original is None:  # a parse or validation error: the query's own fault
        return "GRAPHQL_VALIDATION_FAILED"
    return None


class ErrorCodes(SchemaExtension):
    """Put `extensions.code` on every error we raise on purpose."""

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in (result.errors or []) if result else []:
            code = error_code(error)
            if code and not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": code}


def masked_errors() -> MaskErrors:
    """Production masking: expected errors keep their message, bugs become one line."""
    return MaskErrors(
        should_mask_error=lambda error: error_code(error) is None,
        error_message="Internal server error",
    )


def _introspection_only(operation: OperationDefinitionNode | None) -> bool:
    if operation is None:
        return False
    selections = operation.selection_set.selections
    names = [getattr(getattr(s, "name", None), "value", None) for s in selections]
    return all(name in INTROSPECTION_FIELDS for name in names)


def _unauthorized(response: object) -> None:
    """Answer 401 over HTTP (RFC 6750); a WebSocket has no status to set."""
    if isinstance(response, Response):
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="carepay"'


class RequireSignIn(SchemaExtension):
    """Without a valid token nothing runs: one top-level error, no data.

    Introspection alone is allowed so tools can load the schema (it is off in production).
    """

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if context.viewer is None:
            operation = None
            document = self.execution_context.graphql_document
            if document is not None:
                ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
                operation = ops[0] if len(ops) == 1 else None
            if not _introspection_only(operation):
                message = context.auth_error or "Authentication required: send a bearer token"
                _unauthorized(context.response)
                self.execution_context.result = ExecutionResult(
                    data=None,
                    errors=[GraphQLError(message, extensions={"code": "UNAUTHENTICATED"})],
                )
        yield
