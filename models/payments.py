"""Saved payment methods, payments and refunds."""

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from models.bills import Bill
from models.enums import (
    BankAccountType,
    PaymentKind,
    PaymentMethodKind,
    PaymentMethodStatus,
    PaymentSource,
    PaymentStatus,
)
from models.people import BillingAccount, Member


class PaymentMethod(Model):
    """A member's saved card or bank account, kept as a processor token plus what a person sees."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="payment_methods", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(PaymentMethodKind, max_length=16)
    processor_token = fields.CharField(max_length=128)
    brand = fields.CharField(max_length=32, null=True)
    last4 = fields.CharField(max_length=4)
    exp_month = fields.SmallIntField(null=True)
    exp_year = fields.SmallIntField(null=True)
    bank_name = fields.CharField(max_length=100, null=True)
    routing_number = fields.CharField(max_length=9, null=True)
    account_type = fields.CharEnumField(BankAccountType, max_length=16, null=True)
    holder_name = fields.CharField(max_length=200, null=True)
    nickname = fields.CharField(max_length=60, null=True)
    is_default = fields.BooleanField(default=False)
    status = fields.CharEnumField(
        PaymentMethodStatus, max_length=16, default=PaymentMethodStatus.ACTIVE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    removed_at = fields.DatetimeField(null=True)

    member_id: int

    class Meta:
        table = "payment_method"


class Payment(Model):
    """One attempt to pay a bill, whose status moves only along the state machine."""

    id = fields.IntField(primary_key=True)
    bill: fields.ForeignKeyRelation[Bill] = fields.ForeignKeyField(
        "models.Bill", related_name="payments", on_delete=fields.RESTRICT
    )
    account: fields.ForeignKeyRelation[BillingAccount] = fields.ForeignKeyField(
        "models.BillingAccount", related_name="payments", on_delete=fields.RESTRICT
    )
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="payments", on_delete=fields.RESTRICT
    )
    method: fields.ForeignKeyNullableRelation[PaymentMethod] = fields.ForeignKeyField(
        "models.PaymentMethod", related_name="payments", null=True, on_delete=fields.SET_NULL
    )
    amount = fields.BigIntField()
    amount_refunded = fields.BigIntField(default=0)
    currency = fields.CharField(max_length=3, default="USD")
    status = fields.CharEnumField(PaymentStatus, max_length=16, default=PaymentStatus.PENDING)
    kind = fields.CharEnumField(PaymentKind, max_length=8)
    source = fields.CharEnumField(PaymentSource, max_length=16, default=PaymentSource.ONE_TIME)
    confirmation_number = fields.CharField(max_length=20, null=True, unique=True)
    processor_reference = fields.CharField(max_length=64, null=True)
    processor_idempotency_key = fields.CharField(max_length=64, unique=True)
    failure_code = fields.CharField(max_length=40, null=True)
    failure_message = fields.CharField(max_length=300, null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    settle_after = fields.DatetimeField(null=True)
    settled_at = fields.DatetimeField(null=True)

    bill_id: int
    account_id: int
    member_id: int
    method_id: int | None

    class Meta:
        table = "payment"
        indexes = (("account_id", "created_at"), ("bill_id",), ("status", "settle_after"))
        constraints = (
            CheckConstraint(check="amount > 0", name="payment_amount_positive"),
            CheckConstraint(
                check="amount_refunded >= 0 AND amount_refunded <= amount",
                name="payment_refund_within_amount",
            ),
        )


class Refund(Model):
    """Money given back on a succeeded payment, in full or in part, by staff."""

    id = fields.IntField(primary_key=True)
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="refunds", on_delete=fields.RESTRICT
    )
    staff: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="refunds_issued", on_delete=fields.RESTRICT
    )
    amount = fields.BigIntField()
    reason = fields.CharField(max_length=300, null=True)
    processor_reference = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()

    payment_id: int

    class Meta:
        table = "refund"
        constraints = (CheckConstraint(check="amount > 0", name="refund_amount_positive"),)


class SandboxCharge(Model):
    """The sandbox processor's own ledger, keyed by the idempotency key we send it."""

    id = fields.IntField(primary_key=True)
    idempotency_key = fields.CharField(max_length=64, unique=True)
    token = fields.CharField(max_length=128)
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    outcome = fields.CharField(max_length=40)
    reference = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "sandbox_charge"
