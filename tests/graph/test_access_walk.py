"""Every ID-taking query field answers another member's IDs, and IDs no row can have,
exactly as an unknown ID.

The walk reads the schema itself, so a field added later is covered (or the test
asks for a mapping of its argument to a type).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLObjectType,
    get_named_type,
)

from graph.ids import to_global_id
from tests import factories
from tests.graph.client import SCHEMA, execute
from tests.graph.households import OUT_OF_RANGE_PKS, UNKNOWN_PK, household, shape

NODE_TYPES = (
    "BillingAccount",
    "Bill",
    "Payment",
    "PaymentMethod",
    "Notification",
    "AutopayEnrollment",
    "Viewer",
)
ARGUMENT_TYPES = {"accountId": "BillingAccount", "billId": "Bill", "paymentId": "Payment"}


@dataclass(frozen=True)
class Probe:
    """One ID-taking spot: a query field, the path to the ID inside its arguments, a type."""

    field: str
    path: tuple[str, ...]
    type_name: str

    def document(self, global_id: str) -> str:
        """A query that passes `global_id` at this spot and selects what identifies a result."""
        value: str = f'"{global_id}"'
        for name in reversed(self.path[1:]):
            value = f"{{{name}: {value}}}"
        return f"{{ {self.field}({self.path[0]}: {value}) {_selection(self.field)} }}"


def _selection(field_name: str) -> str:
    field = SCHEMA._schema.query_type.fields[field_name]
    named = get_named_type(field.type)
    if isinstance(named, GraphQLObjectType) and "totalCount" in named.fields:
        return "{ totalCount edges { node { __typename } } }"
    return "{ __typename }"


def _probes() -> list[Probe]:
    probes: list[Probe] = []
    for name, field in SCHEMA._schema.query_type.fields.items():
        probes += _field_probes(name, field)
    return probes


def _field_probes(name: str, field: GraphQLField) -> list[Probe]:
    probes = []
    for arg_name, arg in field.args.items():
        named = get_named_type(arg.type)
        if named is GraphQLID:
            probes += [Probe(name, (arg_name,), t) for t in _types_for(name, arg_name, field)]
        elif isinstance(named, GraphQLInputObjectType):
            for inner, inner_field in named.fields.items():
                if get_named_type(inner_field.type) is GraphQLID:
                    probes.append(Probe(name, (arg_name, inner), ARGUMENT_TYPES[inner]))
    return probes


def _types_for(field_name: str, arg_name: str, field: GraphQLField) -> list[str]:
    if field_name == "node":
        return list(NODE_TYPES)
    if arg_name in ARGUMENT_TYPES:
        return [ARGUMENT_TYPES[arg_name]]
    assert arg_name == "id", f"map argument {field_name}({arg_name}:) to a type in this test"
    return [get_named_type(field.type).name]


def _found(result: Any, field: str) -> bool:
    value = (result.data or {}).get(field)
    if isinstance(value, dict) and "totalCount" in value:
        return bool(value["totalCount"])
    return value is not None


async def test_foreign_ids_answer_exactly_as_unknown_ids(db: str) -> None:
    # given: Alex and Jordan, each with one of everything
    own = await household("alex@example.org")
    foreign = await household("jordan@example.org")
    probes = _probes()
    assert {p.field for p in probes} >= {"node", "account", "bill", "bills", "payments", "autopay"}
    for probe in probes:
        # when
        unknown = await execute(
            probe.document(to_global_id(probe.type_name, UNKNOWN_PK)), as_email="alex@example.org"
        )
        theirs = await execute(
            probe.document(to_global_id(probe.type_name, foreign[probe.type_name])),
            as_email="alex@example.org",
        )
        mine = await execute(
            probe.document(to_global_id(probe.type_name, own[probe.type_name])),
            as_email="alex@example.org",
        )
        # then: Jordan's ID is indistinguishable from one that does not exist
        assert shape(theirs) == shape(unknown), probe
        assert not _found(theirs, probe.field), probe
        # and the probe is real: Alex's own ID is found
        assert _found(mine, probe.field), probe


async def test_staff_find_foreign_ids(db: str) -> None:
    await factories.member("billing@example.org", staff=True)
    foreign = await household("jordan@example.org")
    for probe in _probes():
        if probe.type_name in ("Viewer", "PaymentMethod", "Notification"):
            continue  # personal: a staff member's viewer, methods and inbox are their own
        result = await execute(
            probe.document(to_global_id(probe.type_name, foreign[probe.type_name])),
            as_email="billing@example.org",
            staff=True,
        )
        assert _found(result, probe.field), probe


async def test_ids_beyond_the_id_columns_answer_exactly_as_unknown_ids(db: str) -> None:
    # given: a member and a staff member, and someone's household to look for
    await household("alex@example.org")
    await factories.member("billing@example.org", staff=True)
    for probe in _probes():
        for email, staff in [("alex@example.org", False), ("billing@example.org", True)]:
            # when
            unknown = await execute(
                probe.document(to_global_id(probe.type_name, UNKNOWN_PK)),
                as_email=email,
                staff=staff,
            )
            for pk in OUT_OF_RANGE_PKS:
                beyond = await execute(
                    probe.document(to_global_id(probe.type_name, pk)), as_email=email, staff=staff
                )
                # then: a key no id column can hold is one more unknown ID, not a crash
                assert shape(beyond) == shape(unknown), (probe, email, pk)
                assert not _found(beyond, probe.field), (probe, email, pk)
