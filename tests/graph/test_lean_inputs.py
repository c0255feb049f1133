"""Input objects built from their plan (graph/lean_inputs.py) are what Strawberry's own
conversion builds, for every input type of the schema."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)
from graphql.utilities import coerce_input_value
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_argument
from strawberry.types.base import StrawberryObjectDefinition

from graph.lean_inputs import lean_inputs
from tests.graph.client import SCHEMA

# A value a client could send for each scalar of the schema; a new scalar fails here.
SCALARS: dict[str, list[Any]] = {
    "String": ["tok_visa", "Ada Lovelace"],
    "ID": ["QmlsbDox", "UGF5bWVudE1ldGhvZDoy"],
    "Boolean": [True, False],
    "Int": [3],
    "Decimal": ["125.40", "0.01"],
    "Date": ["2026-12-05"],
    "DateTime": ["2026-12-05T16:30:00+00:00"],
}


def _input_types() -> list[GraphQLInputObjectType]:
    types = SCHEMA._schema.type_map.values()
    return [t for t in types if isinstance(t, GraphQLInputObjectType)]


def _definition(graphql_type: GraphQLInputObjectType) -> StrawberryObjectDefinition:
    definition = graphql_type.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    assert isinstance(definition, StrawberryObjectDefinition)
    return definition


def _samples(graphql_type: GraphQLInputType, pick: int) -> Iterator[Any]:
    """Values a client could send for a type; `pick` varies which are chosen."""
    if isinstance(graphql_type, GraphQLNonNull):
        yield from _samples(graphql_type.of_type, pick)
        return
    if isinstance(graphql_type, GraphQLList):
        for item in _samples(graphql_type.of_type, pick):
            yield [item, item]
        return
    if isinstance(graphql_type, GraphQLEnumType):
        names = list(graphql_type.values)
        yield names[pick % len(names)]
        return
    if isinstance(graphql_type, GraphQLInputObjectType):
        yield from _objects(graphql_type, pick)
        return
    assert isinstance(graphql_type, GraphQLScalarType)
    values = SCALARS[graphql_type.name]
    yield values[pick % len(values)]


def _objects(graphql_type: GraphQLInputObjectType, pick: int) -> Iterator[dict[str, Any]]:
    """Every field given; only the required ones; and each optional one null."""
    fields = graphql_type.fields
    required = {name for name, f in fields.items() if isinstance(f.type, GraphQLNonNull)}
    given = {name: next(_samples(f.type, pick)) for name, f in fields.items()}
    yield given
    yield {name: given[name] for name in required}
    for name in sorted(set(fields) - required):
        yield given | {name: None}


def _convert(value: Any, cls: type) -> Any:
    return convert_argument(value, cls, SCHEMA.schema_converter.scalar_registry, SCHEMA.config)


def test_every_input_type_of_the_schema_is_planned() -> None:
    assert len(_input_types()) >= 13
    for graphql_type in _input_types():
        assert _definition(graphql_type).from_input is not None, graphql_type.name


@pytest.mark.parametrize("graphql_type", _input_types(), ids=lambda t: t.name)
def test_a_planned_input_is_what_strawberry_builds(
    graphql_type: GraphQLInputObjectType, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = _definition(graphql_type)
    cls = definition.origin
    values = [
        coerce_input_value(raw, graphql_type)  # as graphql-core hands it to the resolver
        for pick in range(2)
        for raw in _objects(graphql_type, pick)
    ]
    planned = [_convert(value, cls) for value in values]
    with monkeypatch.context() as patch:  # Strawberry's own path, nested inputs too
        for each in _input_types():
            patch.setattr(_definition(each), "from_input", None)
        theirs = [_convert(value, cls) for value in values]
    assert planned == theirs
    assert all(type(built) is cls for built in planned)
    for value, built in zip(values, planned, strict=True):
        for field in definition.fields:  # nothing left unconverted: a nested input is built
            python_value = getattr(built, field.python_name)
            assert not isinstance(python_value, dict), (field.python_name, value)


@strawberry.input
class Plain:
    note: str | None  # no default: Strawberry gives None when it is left out
    size: int | None = 5


@strawberry.input
class WithMaybe:  # Strawberry's rule refuses a null Maybe only for types without from_input
    note: strawberry.Maybe[str]


def _own_builder(cls: type, value: Any, context: Any) -> Any:
    return cls()


@strawberry.input
class OwnBuilder:
    note: str | None = None


OwnBuilder.__strawberry_definition__.from_input = _own_builder  # type: ignore[attr-defined]


@strawberry.type
class EchoQuery:
    @strawberry.field
    def echo(self, a: Plain, b: WithMaybe, c: OwnBuilder) -> str:
        return f"{a.note}/{a.size}"


def test_types_strawberry_treats_apart_keep_its_conversion() -> None:
    schema = strawberry.Schema(query=EchoQuery)
    assert lean_inputs(schema) == 1
    assert Plain.__strawberry_definition__.from_input is not None  # type: ignore[attr-defined]
    assert WithMaybe.__strawberry_definition__.from_input is None  # type: ignore[attr-defined]
    assert OwnBuilder.__strawberry_definition__.from_input is _own_builder  # type: ignore[attr-defined]
    result = schema.execute_sync('{ echo(a: {}, b: {note: null}, c: {note: "x"}) }')
    assert result.errors and "note" in result.errors[0].message  # still refused
    answers = [
        schema.execute_sync(f'{{ echo(a: {a}, b: {{note: "y"}}, c: {{}}) }}').data
        for a in ("{}", '{note: "n"}', "{size: null}", '{note: "n", size: 2}')
    ]
    assert answers == [{"echo": e} for e in ("None/5", "n/5", "None/None", "n/2")]


def test_all_combinations_of_given_fields_build_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """RefundPaymentInput mixes required, defaulted and optional fields: every subset."""
    graphql_type = SCHEMA._schema.type_map["RefundPaymentInput"]
    assert isinstance(graphql_type, GraphQLInputObjectType)
    cls = _definition(graphql_type).origin
    full = next(_objects(graphql_type, 0))
    fields = graphql_type.fields
    optional = [name for name, f in fields.items() if not isinstance(f.type, GraphQLNonNull)]
    values = []
    for size in range(len(optional) + 1):
        for left_out in itertools.combinations(optional, size):
            raw = {name: v for name, v in full.items() if name not in left_out}
            values.append(coerce_input_value(raw, graphql_type))
    planned = [_convert(value, cls) for value in values]
    monkeypatch.setattr(_definition(graphql_type), "from_input", None)
    assert planned == [_convert(value, cls) for value in values]
