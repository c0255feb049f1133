"""Which payment subscriptions may share a cohort (graph/cohorts.py), and on what terms.

A payment subscription (`paymentEvents`, `paymentStatusFeed`) of a given document,
variables and viewer (member, role, access) produces the same result for an event
whatever socket opened it, so such subscriptions share one live stream. One resumed
with `after` shares it too, once it has caught up: it differs from the live one only
in where it starts, provided its cursor comes in a variable used nowhere else (a
cursor written into the document, or the same variable also paging a nested list,
would make its frames differ) and that variable is nullable, with no default.
"""

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    NamedTypeNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    Visitor,
    parse,
    visit,
)
from graphql.language.visitor import SKIP, VisitorAction
from graphql.utilities import get_operation_ast

from graph.context import Context
from resolvers.errors import InvalidInput
from resolvers.event_log import parse_event_cursor

SHAREABLE_FIELDS = frozenset({"paymentEvents", "paymentStatusFeed"})
Key = tuple[object, ...]


@dataclass(frozen=True)
class Sharing:
    """A subscription's cohort: its key and the live subscription the cohort runs; the
    subscription as asked (`payload`), and the outbox id it resumes from (None: live)."""

    key: Key
    live: dict[str, Any]
    payload: dict[str, Any]
    after: int | None = None


# Longer documents are parsed each time rather than kept: the cache keeps its keys, and
# a client could fill it with large ones.
_CACHED_LENGTH = 64 * 1024


def parsed(query: str, max_tokens: int) -> DocumentNode:
    """The document, parsed under the token limit the ordinary path applies;
    GraphQLSyntaxError if it is not one, or holds more tokens than that."""
    if len(query) > _CACHED_LENGTH:
        return parse(query, max_tokens=max_tokens)
    return _parsed(query, max_tokens)


@lru_cache(maxsize=256)
def _parsed(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


class _Uses(Visitor):
    """Counts the uses of one variable outside its definition."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.count = 0

    def enter_variable_definition(self, *_: object) -> VisitorAction:
        return SKIP

    def enter_variable(self, node: VariableNode, *_: object) -> None:
        if node.name.value == self.name:
            self.count += 1


class _Alone(Exception):
    """The subscription runs a stream of its own."""


def _cursor_variable(
    document: DocumentNode, operation: OperationDefinitionNode, field: FieldNode
) -> str | None:
    """The variable holding the field's `after` (None if `after` is absent or null); _Alone
    if the subscription cannot share a cohort by it."""
    for argument in field.arguments or ():
        if argument.name.value != "after":
            continue
        value = argument.value
        if isinstance(value, NullValueNode):
            return None
        if not isinstance(value, VariableNode):
            raise _Alone
        name = value.name.value
        for definition in operation.variable_definitions or ():
            if definition.variable.name.value != name:
                continue
            # The cohort runs it with the variable null: it must be a nullable String.
            nullable = isinstance(definition.type, NamedTypeNode)
            if definition.default_value is not None or not nullable:
                raise _Alone
        uses = _Uses(name)
        visit(document, uses)
        if uses.count != 1:
            raise _Alone
        return name
    return None


def sharing(context: Context, payload: dict[str, Any]) -> Sharing | None:
    """The cohort a subscription may join, or None when it runs alone."""
    viewer = context.viewer
    query = payload.get("query")
    variables = payload.get("variables") or {}
    name = payload.get("operationName")
    if viewer is None or context.events is None or not isinstance(query, str):
        return None
    if not isinstance(variables, dict) or not (name is None or isinstance(name, str)):
        return None  # the ordinary path refuses it
    variables = dict(variables)  # a copy: the cohort's own is changed below
    try:
        document = parsed(query, context.settings.max_tokens)
    except GraphQLError:
        return None  # the ordinary path reports it
    operation = get_operation_ast(document, name)
    if operation is None:
        return None
    if operation.operation is not OperationType.SUBSCRIPTION:
        return None
    fields = operation.selection_set.selections
    if len(fields) != 1 or not isinstance(fields[0], FieldNode):
        return None
    if fields[0].name.value not in SHAREABLE_FIELDS:
        return None
    try:
        variable = _cursor_variable(document, operation, fields[0])
    except _Alone:
        return None
    after = None
    if variable is not None:
        cursor = variables.get(variable)
        if cursor is not None:
            if not isinstance(cursor, str):
                return None  # the ordinary path reports it
            try:
                after = parse_event_cursor(cursor)
            except InvalidInput:
                return None
        variables[variable] = None
    access = None
    if viewer.access is not None:
        access = tuple(sorted((account, role.value) for account, role in viewer.access.items()))
    encoded = json.dumps(variables, sort_keys=True, default=str)
    key: Key = (query, name, encoded, viewer.member.id, viewer.is_staff, access)
    live = {"query": query, "variables": variables, "operationName": name}
    return Sharing(key, live, payload, after)
