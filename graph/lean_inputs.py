"""Input objects are built from a plan made once, not by Strawberry's per-call type walk.

For every input object in every request, Strawberry walks the type's fields: it works
out each field's GraphQL name and type again and sends its value through
`convert_argument`, which only then finds that a scalar or enum value is kept as it
is. That is 30-50 us for `PayBillInput`, about a tenth of the mutation's GraphQL work.
Strawberry lets a type build its own value (`from_input` on its definition, which
`strawberry.pydantic` uses); here each plain input type gets one that knows its fields
already. A field of a scalar or enum type, or an optional one, takes the value as given,
as Strawberry would; any other field (a nested input, a list) still goes through
Strawberry's own conversion. Types Strawberry treats apart are left alone: generic ones,
those with `Maybe` fields (the rule that refuses their nulls skips types with a
`from_input`) and those that already build themselves.

The builder is set on the input class's own definition, so every schema made from the
class uses it once one schema has planned it; it depends only on the class, the default
name converter and the scalars, which every schema of this service shares.
"""

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

import strawberry
from graphql import GraphQLInputObjectType
from strawberry.relay import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition

Build = Callable[[type, Mapping[str, Any], InputContext], Any]


def _kept_as_given(type_: object, registry: Mapping[object, Any]) -> bool:
    """Whether Strawberry converts a value of this type to itself: a scalar or an enum,
    optional or not (null stays null)."""
    if isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe):
        return _kept_as_given(type_.of_type, registry)
    if type_ is GlobalID or isinstance(type_, StrawberryList | StrawberryMaybe):
        return False
    return (
        is_scalar(type_, registry)
        or isinstance(type_, StrawberryEnumDefinition)
        or has_enum_definition(type_)
    )


def _plan(definition: StrawberryObjectDefinition, schema: strawberry.Schema) -> Build | None:
    """The builder of one input type, or None where Strawberry's own path must stay."""
    if definition.from_input is not None or definition.is_graphql_generic:
        return None
    registry = schema.schema_converter.scalar_registry
    names = schema.config.name_converter
    unset: dict[str, None] = {}  # fields without a default are None unless given
    # GraphQL name, Python name, and the type when Strawberry must convert the value
    fields: list[tuple[str, str, StrawberryType | type | None]] = []
    for field in definition.fields:
        type_ = field.resolve_type(type_definition=definition)
        if isinstance(type_, StrawberryMaybe):
            return None
        if field.default_value is MISSING and field.default_factory is MISSING:
            unset[field.python_name] = None
        kept = _kept_as_given(type_, registry)
        fields.append((names.from_field(field), field.python_name, None if kept else type_))

    def build(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        kwargs: dict[str, Any] = dict(unset)
        for graphql_name, python_name, converted in fields:
            if graphql_name in value:
                given = value[graphql_name]
                if converted is not None:
                    given = context.convert(given, converted, graphql_name)
                kwargs[python_name] = given
        return cls(**kwargs)

    return build


def lean_inputs(schema: strawberry.Schema) -> int:
    """Give every plain input type of the schema a planned builder; the number of types."""
    changed = 0
    for graphql_type in schema._schema.type_map.values():  # the graphql-core schema
        if not isinstance(graphql_type, GraphQLInputObjectType):
            continue
        definition = (graphql_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        build = _plan(definition, schema)
        if build is not None:
            definition.from_input = build
            changed += 1
    return changed
