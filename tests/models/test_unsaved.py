"""`unsaved(model, **values)` builds the instance `model(**values)` builds, and saves it the
same way; it refuses what it does not handle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tortoise import connections, fields
from tortoise.models import Model

from models import AuditLog, IdempotencyRecord, Payment, SandboxCharge
from models.bulk_insert import insert_many
from models.enums import IdempotencyStatus, PaymentKind, PaymentSource, PaymentStatus
from models.unsaved import unsaved
from tests import factories

_AT = datetime(2026, 12, 5, 12, tzinfo=UTC)
_EAST = datetime(2026, 12, 5, 14, tzinfo=timezone(timedelta(hours=2)))


def _payment(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "bill_id": 1,
        "account_id": 2,
        "member_id": 3,
        "method_id": 4,
        "amount": 12_540,
        "currency": "USD",
        "status": PaymentStatus.PENDING,
        "kind": PaymentKind.CARD,
        "source": PaymentSource.ONE_TIME,
        "processor_idempotency_key": "pay_0123",
        "created_at": _AT,
        "updated_at": _AT,
    }
    return values | changes


CASES: list[tuple[type[Model], dict[str, Any]]] = [
    (Payment, _payment()),
    # Values as the database would hold them: the enum's value, another time zone.
    (Payment, _payment(status="SUCCEEDED", kind="ACH", created_at=_EAST, method_id=None)),
    # Fields left out take their defaults (status, source, amount_refunded, currency).
    (Payment, {k: v for k, v in _payment().items() if k not in {"status", "source", "currency"}}),
    (Payment, _payment(confirmation_number="CP-0000001-AB12", failure_code=None)),
    (
        IdempotencyRecord,
        {
            "member_id": 3,
            "key": "k-1",
            "operation": "payBill",
            "request_hash": "f" * 64,
            "status": IdempotencyStatus.IN_PROGRESS,
            "response": {"processor_key": "pay_0123"},
            "created_at": _AT,
            "expires_at": _AT + timedelta(days=30),
        },
    ),
    (AuditLog, {"action": "payment.created", "entity_type": "payment", "entity_id": 7}),
    (
        SandboxCharge,
        {
            "idempotency_key": "pay_0123",
            "token": "tok_visa",
            "amount": 100,
            "currency": "USD",
            "outcome": "SUCCEEDED",
            "reference": "ch_0123",
            "created_at": _AT,
        },
    ),
]


def _state(instance: Model) -> dict[str, Any]:
    state = dict(vars(instance))
    for name, value in state.items():
        if isinstance(value, datetime):  # the same instant in the same zone
            state[name] = (value, value.utcoffset())
    return state


@pytest.mark.parametrize(("model", "values"), CASES)
async def test_it_builds_what_the_model_builds(
    db: str, model: type[Model], values: dict[str, Any]
) -> None:
    expected = model(**values)
    built = unsaved(model, **values)
    assert type(built) is model
    assert _state(built) == _state(expected)
    assert built.pk is None and not built._saved_in_db


@settings(max_examples=60, deadline=None)
@given(
    amount=st.integers(min_value=1, max_value=2**62),
    status=st.sampled_from(PaymentStatus),
    left_out=st.sets(st.sampled_from(["status", "source", "currency", "method_id"])),
    failure=st.none() | st.text(max_size=40),
)
async def test_it_builds_what_the_model_builds_for_any_payment(
    database_url: str, amount: int, status: PaymentStatus, left_out: set[str], failure: str | None
) -> None:
    values = _payment(amount=amount, status=status, failure_code=failure)
    values = {k: v for k, v in values.items() if k not in left_out}
    assert _state(unsaved(Payment, **values)) == _state(Payment(**values))


async def test_an_unsaved_payment_saves_and_reads_back_as_a_created_one(db: str) -> None:
    member = await factories.member("unsaved@example.org")
    bill = await factories.bill(await factories.account(member), due=10_000)
    card = await factories.card(member)
    values = _payment(bill_id=bill.id, account_id=bill.account_id, member_id=member.id)
    values["method_id"] = card.id
    conn = connections.get("default")
    unique = ("processor_idempotency_key",)
    [built] = await insert_many(conn, [unsaved(Payment, **values)], unique=unique)
    created = await Payment.create(**(values | {"processor_idempotency_key": "pay_other"}))
    stored = await Payment.get(id=built.id)
    again = await Payment.get(id=created.id)
    different = {"id", "processor_idempotency_key"}
    assert {k: v for k, v in _state(stored).items() if k not in different} == {
        k: v for k, v in _state(again).items() if k not in different
    }
    assert stored.status is PaymentStatus.PENDING and stored.amount == 12_540


async def test_it_refuses_what_it_does_not_handle(db: str) -> None:
    with pytest.raises(TypeError, match="no column field 'bill'"):
        unsaved(Payment, **{k: v for k, v in _payment().items() if k != "bill_id"}, bill=None)
    with pytest.raises(TypeError, match="no column field 'colour'"):
        unsaved(Payment, **_payment(), colour="red")
    with pytest.raises(ValueError, match="amount is non nullable"):
        unsaved(Payment, **_payment(amount=None))
    with pytest.raises(ValueError, match="amount is non nullable"):
        Payment(**_payment(amount=None))  # as the model itself says


async def test_a_default_made_anew_is_not_shared(db: str) -> None:
    first = unsaved(AuditLog, action="a", entity_type="payment", entity_id=1)
    second = unsaved(AuditLog, action="b", entity_type="payment", entity_id=2)
    first.data["changed"] = True
    assert second.data == {}


async def _later() -> int:
    return 1


class _Deferred(Model):
    """A model whose default Tortoise's `save` awaits, which `unsaved` leaves to it."""

    id = fields.IntField(primary_key=True)
    count = fields.IntField(default=_later)


def test_a_coroutine_default_is_refused() -> None:
    with pytest.raises(TypeError, match=r"_Deferred\.count has a coroutine default"):
        unsaved(_Deferred, id=1)
