"""Every ID-taking query field answers another member's IDs exactly as an unknown ID.

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

from adapters.clock import now
from graph.ids import to_global_id
from models import AutopayEnrollment, Notification, Payment
from models.enums import (
    AutopayStrategy,
    NotificationKind,
    PaymentKind,
    PaymentStatus,
)
from tests import factories
from tests.graph.client import SCHEMA, execute

UNKNOWN_PK = 10**9
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


async def _household(email: str) -> dict[str, int]:
    """A member with one of everything; the primary keys by type name."""
    person = await factories.member(email)
    account = await factories.account(person)
    bill = await factories.bill(account)
    card = await factories.card(person)
    stamp = now()
    payment = await Payment.create(
        bill=bill,
        account=account,
        member=person,
        method=card,
        amount=500,
        kind=PaymentKind.CARD,
        status=PaymentStatus.FAILED,
        processor_idempotency_key=f"walk-{email}",
        created_at=stamp,
        updated_at=stamp,
    )
    note = await Notification.create(
        member=person,
        kind=NotificationKind.STATEMENT_AVAILABLE,
        message="Your statement is ready",
        bill=bill,
        account=account,
        created_at=stamp,
    )
    autopay = await AutopayEnrollment.create(
        account=account,
        member=person,
        method=card,
        strategy=AutopayStrategy.STATEMENT_BALANCE,
        created_at=stamp,
        updated_at=stamp,
    )
    return {
        "BillingAccount": account.id,
        "Bill": bill.id,
        "Payment": payment.id,
        "PaymentMethod": card.id,
        "Notification": note.id,
        "AutopayEnrollment": autopay.id,
        "Viewer": person.id,
    }


def _found(result: Any, field: str) -> bool:
    value = (result.data or {}).get(field)
    if isinstance(value, dict) and "totalCount" in value:
        return bool(value["totalCount"])
    return value is not None


def _shape(result: Any) -> Any:
    errors = [(e.message, (e.extensions or {}).get("code")) for e in result.errors or []]
    return result.data, errors


async def test_foreign_ids_answer_exactly_as_unknown_ids(db: str) -> None:
    # given: Alex and Jordan, each with one of everything
    own = await _household("alex@example.org")
    foreign = await _household("jordan@example.org")
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
        assert _shape(theirs) == _shape(unknown), probe
        assert not _found(theirs, probe.field), probe
        # and the probe is real: Alex's own ID is found
        assert _found(mine, probe.field), probe


async def test_staff_find_foreign_ids(db: str) -> None:
    await factories.member("billing@example.org", staff=True)
    foreign = await _household("jordan@example.org")
    for probe in _probes():
        if probe.type_name in ("Viewer", "PaymentMethod", "Notification"):
            continue  # personal: a staff member's viewer, methods and inbox are their own
        result = await execute(
            probe.document(to_global_id(probe.type_name, foreign[probe.type_name])),
            as_email="billing@example.org",
            staff=True,
        )
        assert _found(result, probe.field), probe
