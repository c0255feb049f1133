"""Every ID a mutation takes: another member's, or one no row can have, answers as unknown.

The walk reads the schema itself: a mutation added later with an ID in its input fails
here until it has a valid input below to start from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import GraphQLID, GraphQLInputObjectType, GraphQLObjectType, get_named_type

import models
from graph.ids import to_global_id
from tests import factories
from tests.graph.client import SCHEMA, execute
from tests.graph.households import OUT_OF_RANGE_PKS, UNKNOWN_PK, household, shape

ID_TYPES = {
    "accountId": "BillingAccount",
    "billId": "Bill",
    "paymentId": "Payment",
    "paymentMethodId": "PaymentMethod",
    "ids": "Notification",
}
FRESH_KEY = object()  # a new idempotency key for every request


@dataclass(frozen=True)
class Who:
    """Who sends the mutation."""

    email: str
    staff: bool = False


MEMBER = Who("alex@example.org")
STAFF = Who("billing@example.org", staff=True)


def _inputs(own: dict[str, int]) -> dict[str, dict[str, Any]]:
    """A valid input of every mutation that takes IDs, naming the member's own rows."""

    def gid(type_name: str) -> str:
        return to_global_id(type_name, own[type_name])

    return {
        "payBill": {
            "billId": gid("Bill"),
            "amount": "1.00",
            "paymentMethodId": gid("PaymentMethod"),
            "idempotencyKey": FRESH_KEY,
        },
        "cancelPayment": {"paymentId": gid("Payment"), "idempotencyKey": FRESH_KEY},
        "refundPayment": {"paymentId": gid("Payment"), "idempotencyKey": FRESH_KEY},
        "removePaymentMethod": {"paymentMethodId": gid("PaymentMethod")},
        "setDefaultPaymentMethod": {"paymentMethodId": gid("PaymentMethod")},
        "setupAutopay": {
            "accountId": gid("BillingAccount"),
            "paymentMethodId": gid("PaymentMethod"),
            "strategy": "STATEMENT_BALANCE",
        },
        "cancelAutopay": {"accountId": gid("BillingAccount")},
        "markNotificationsRead": {"ids": [gid("Notification")]},
    }


def _id_fields(mutation: str) -> list[str]:
    """The input fields of a mutation that hold IDs (one ID or a list of them)."""
    field = SCHEMA._schema.mutation_type.fields[mutation]
    if "input" not in field.args:
        return []
    named = get_named_type(field.args["input"].type)
    assert isinstance(named, GraphQLInputObjectType)
    return [n for n, f in named.fields.items() if get_named_type(f.type) is GraphQLID]


def _document(mutation: str) -> str:
    field = SCHEMA._schema.mutation_type.fields[mutation]
    payload = get_named_type(field.type)
    assert isinstance(payload, GraphQLObjectType)
    parts = []
    for name, inner in payload.fields.items():
        if name == "errors":
            parts.append("errors { field message code }")
        elif isinstance(get_named_type(inner.type), GraphQLObjectType):
            parts.append(f"{name} {{ __typename }}")
        else:
            parts.append(name)
    input_type = get_named_type(field.args["input"].type).name
    return (
        f"mutation Walk($input: {input_type}!) "
        f"{{ {mutation}(input: $input) {{ {' '.join(parts)} }} }}"
    )


async def _run(mutation: str, base: dict[str, Any], field: str, pk: int, who: Who) -> Any:
    """The mutation with `field` naming row `pk`, every other field as in `base`."""
    value: Any = to_global_id(ID_TYPES[field], pk)
    given = {**base, field: [value] if field == "ids" else value}
    given = {k: factories.fresh_key("walk-") if v is FRESH_KEY else v for k, v in given.items()}
    result = await execute(
        _document(mutation), variables={"input": given}, as_email=who.email, staff=who.staff
    )
    return shape(result)


async def _rows() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, to show that a refused mutation changed nothing."""
    return {
        name: await getattr(models, name).all().order_by("id").values() for name in models.__all__
    }


def _refused_as_not_found(answer: Any, mutation: str, field: str) -> bool:
    data, _ = answer
    errors = (data or {}).get(mutation, {}).get("errors") or []
    return any(e["field"][0] == field and e["code"].endswith("NOT_FOUND") for e in errors)


async def test_foreign_and_out_of_range_ids_answer_exactly_as_unknown_ids(db: str) -> None:
    # given: Alex and Jordan, each with one of everything, and a staff member
    own = await household("alex@example.org")
    foreign = await household("jordan@example.org")
    await factories.member("billing@example.org", staff=True)
    inputs = _inputs(own)
    walked = [(m, f) for m in SCHEMA._schema.mutation_type.fields for f in _id_fields(m)]
    assert {m for m, _ in walked} == set(inputs), "give the new mutation a valid input above"
    before = await _rows()
    for mutation, field in walked:
        not_found = False
        for who in [MEMBER, STAFF]:
            # when
            unknown = await _run(mutation, inputs[mutation], field, UNKNOWN_PK, who)
            others = list(OUT_OF_RANGE_PKS) + ([] if who is STAFF else [foreign[ID_TYPES[field]]])
            for pk in others:
                # then: each answers exactly as the unknown ID, and nothing changed
                answer = await _run(mutation, inputs[mutation], field, pk, who)
                assert answer == unknown, (mutation, field, who, pk)
            assert await _rows() == before, (mutation, field, who)
            not_found = not_found or _refused_as_not_found(unknown, mutation, field)
        # and the probe is real: the unknown ID is refused as not found, naming the field
        assert not_found, (mutation, field)
