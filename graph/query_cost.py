"""A bound on how much one operation may ask for: the fields it would resolve, counted
before it runs.

Depth, aliases and tokens bound a document's size, not its work. A few hundred tokens
can nest pages of 100 inside pages of 100 (`bills(first: 100) { edges { node {
account { bills(first: 100) ...`) and ask for millions of fields, which held a worker
for 20 s and built a 76 MB answer. Each field counts once for every time it would
resolve: inside a connection's `edges`, once per item of the page asked for (`first`,
or the default page size); inside any other list, LIST_ITEMS times (an estimate: such
lists, an account's bills' line items say, are not paged by the client). An operation
whose count passes the limit is refused before anything runs; a subscription, whose
selection runs again for every event, at validation, where each `first` given in a
variable counts as the largest page.

Fragments spread inside fragments multiply too: forty of them, each spreading the next
twice, make a 300-token document of 2^40 fields, and the depth and alias rules walk every
spread. `ExpandedFields`, a validation rule made before those rules, counts each fragment
once (memoized) and refuses a document that expands past the same limit before they walk
it: it raises, as validation cannot otherwise be stopped before every rule is made.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
)
from graphql.utilities import get_operation_ast
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

LIST_ITEMS = 10


class _TooCostly(Exception):
    """The count passed the limit (counting stops there)."""


def _too_costly(limit: int) -> str:
    return (
        f"This operation would resolve more than {limit:,} fields: ask for smaller pages "
        "(`first`) or fewer nested lists."
    )


def expanded_fields_rule(limit: int) -> type[ValidationRule]:
    """The validation rule that refuses a document whose operations, with every fragment
    spread expanded, hold more than `limit` fields (make it once: the validation cache
    is keyed by the rule classes)."""

    class ExpandedFields(ValidationRule):
        # In __init__, not a visit: Strawberry's depth rule does its whole walk in its
        # own __init__, and graphql-core makes every rule before visiting any node.
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            node = context.document
            fragments = {
                d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)
            }
            sizes: dict[str, int] = {}

            def size(selections: SelectionSetNode, inside: frozenset[str]) -> int:
                total = 0
                for selection in selections.selections:
                    if isinstance(selection, FieldNode):
                        total += 1
                        if selection.selection_set is not None:
                            total += size(selection.selection_set, inside)
                    elif isinstance(selection, InlineFragmentNode):
                        total += size(selection.selection_set, inside)
                    elif isinstance(selection, FragmentSpreadNode):
                        name = selection.name.value
                        if name not in sizes and name in fragments and name not in inside:
                            sizes[name] = size(fragments[name].selection_set, inside | {name})
                        total += sizes.get(name, 0)  # cycles and unknowns: other rules
                    if total > limit:
                        break
                return total

            operations = [d for d in node.definitions if isinstance(d, OperationDefinitionNode)]
            code = {"code": "GRAPHQL_VALIDATION_FAILED"}
            if any(size(o.selection_set, frozenset()) > limit for o in operations):
                raise ValidationAbortedError(_too_costly(limit), extensions=code)
            # A subscription's selection runs for every event, and the limiter below does
            # not see it: it is counted here, each `first` in a variable as the largest page.
            schema = context.schema
            for operation in operations:
                root = schema.get_root_type(operation.operation)
                if operation.operation is not OperationType.SUBSCRIPTION or root is None:
                    continue
                counter = _Counter(schema, fragments, {}, limit, worst_case=True)
                try:
                    counter.count(operation.selection_set, root, 1, None)
                except _TooCostly:  # reported, not raised: the count stopped at the limit
                    self.report_error(GraphQLError(_too_costly(limit), extensions=code))

    return ExpandedFields


class QueryCostLimiter(SchemaExtension):
    """Refuse an operation that would resolve more than `max_cost` fields (estimated)."""

    def __init__(self, *, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operation = None
        if document is not None and context.result is None:
            operation = get_operation_ast(document, context.operation_name)
        if operation is not None:
            fragments = {
                d.name.value: d
                for d in document.definitions  # type: ignore[union-attr]
                if isinstance(d, FragmentDefinitionNode)
            }
            schema = context.schema._schema
            root = schema.get_root_type(operation.operation)
            counter = _Counter(schema, fragments, context.variables or {}, self.max_cost)
            try:
                if root is not None:
                    counter.count(operation.selection_set, root, 1, None)
            except _TooCostly:
                message = _too_costly(self.max_cost)
                error = GraphQLError(message, extensions={"code": "GRAPHQL_VALIDATION_FAILED"})
                context.result = ExecutionResult(data=None, errors=[error])
        yield


class _Counter:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        limit: int,
        *,
        worst_case: bool = False,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.limit = limit
        self.worst_case = worst_case  # a `first` in a variable counts as the largest page
        self.total = 0

    def count(
        self, selections: SelectionSetNode, parent: GraphQLNamedType, times: int, page: int | None
    ) -> None:
        """Count the fields of a selection set resolved `times` times; `page`: the size of
        the page whose list fields (a connection's `edges`) are directly in it."""
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                self._field(selection, parent, times, page)
                continue
            if isinstance(selection, InlineFragmentNode):
                inner, condition = selection.selection_set, selection.type_condition
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None:
                    continue  # validation reports it
                inner, condition = fragment.selection_set, fragment.type_condition
            else:
                continue
            named = self.schema.get_type(condition.name.value) if condition else parent
            self.count(inner, named or parent, times, page)

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType, times: int, page: int | None
    ) -> None:
        self._add(times)
        fields = getattr(parent, "fields", None)
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) or fields is None:
            return  # a union's __typename, say
        field = fields.get(node.name.value)
        if field is None or node.selection_set is None:
            return
        output = get_nullable_type(field.type)
        each = times
        if isinstance(output, GraphQLList):
            each = times * (page if page is not None else LIST_ITEMS)
        named = get_named_type(field.type)
        inner_page = self._first(node) if named.name.endswith("Connection") else None
        self.count(node.selection_set, named, each, inner_page)

    def _first(self, node: FieldNode) -> int:
        """The page size a connection field asks for (at most the largest page served)."""
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value: object = None
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                name = argument.value.name.value
                value = MAX_PAGE_SIZE if self.worst_case else self.variables.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return max(0, min(value, MAX_PAGE_SIZE))
        return DEFAULT_PAGE_SIZE

    def _add(self, fields: int) -> None:
        self.total += fields
        if self.total > self.limit:
            raise _TooCostly
