"""Plain fields resolve without Strawberry's per-call wrapper.

Most fields of the read API are one-line methods of their type (`Bill.dueDate` is
`self.model.due_date`). For each call Strawberry builds an Info object, converts the
(absent) arguments and runs the (absent) field extensions before calling the method:
about a third of a dashboard query's execution. A field whose resolver is a plain
synchronous method taking only `self`, with no arguments, extensions or exception
handlers, gives the same result called directly, so such fields get a resolver that
does just that. Anything else keeps Strawberry's. Schema extensions' `resolve` hooks
still run: Strawberry applies them as graphql-core middleware, around any resolver.
"""

from collections.abc import Callable
from types import FunctionType
from typing import Any

import strawberry
from graphql import GraphQLObjectType, GraphQLResolveInfo
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


def _plain_method(field: StrawberryField) -> Callable[[Any], Any] | None:
    """The method behind a field, if calling it with the source alone is all it takes."""
    resolver = field.base_resolver
    if resolver is None or resolver.is_async or field.is_subscription:
        return None
    if field.arguments or field.extensions:  # permission classes are extensions too
        return None
    parameters = list(resolver.signature.parameters.values())
    if len(parameters) != 1 or resolver.self_parameter is not parameters[0]:
        return None
    method = resolver.wrapped_func
    return method if isinstance(method, FunctionType) else None


def _calling(method: Callable[[Any], Any]) -> Callable[[Any, GraphQLResolveInfo[Any]], Any]:
    def resolve(source: Any, _: GraphQLResolveInfo[Any]) -> Any:
        return method(source)

    return resolve


def lean_resolvers(schema: strawberry.Schema) -> int:
    """Give every plain field of the schema's object types a direct resolver; the number of
    fields changed (none if the schema has exception handlers, which Strawberry's wrapper
    would apply)."""
    if getattr(schema.schema_converter, "_exception_handler_specs", ()):
        return 0
    changed = 0
    for graphql_type in schema._schema.type_map.values():  # the graphql-core schema
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for graphql_field in graphql_type.fields.values():
            extensions = graphql_field.extensions or {}
            field = extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if not isinstance(field, StrawberryField):
                continue
            method = _plain_method(field)
            if method is not None:
                graphql_field.resolve = _calling(method)
                changed += 1
    return changed
