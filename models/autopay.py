"""Autopay enrollments and the once-per-cycle record of each charge."""

from tortoise import fields
from tortoise.models import Model

from models.bills import Bill
from models.enums import AutopayChargeStatus, AutopayStatus, AutopayStrategy
from models.payments import Payment, PaymentMethod
from models.people import BillingAccount, Member


class AutopayEnrollment(Model):
    """A standing instruction to pay an account's bills before they fall due, one per account."""

    id = fields.IntField(primary_key=True)
    account: fields.OneToOneRelation[BillingAccount] = fields.OneToOneField(
        "models.BillingAccount", related_name="autopay_enrollment", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="autopay_enrollments", on_delete=fields.CASCADE
    )
    method: fields.ForeignKeyRelation[PaymentMethod] = fields.ForeignKeyField(
        "models.PaymentMethod", related_name="autopay_enrollments", on_delete=fields.RESTRICT
    )
    strategy = fields.CharEnumField(AutopayStrategy, max_length=24)
    fixed_amount = fields.BigIntField(null=True)
    max_amount = fields.BigIntField(null=True)
    days_before_due = fields.SmallIntField(default=3)
    status = fields.CharEnumField(AutopayStatus, max_length=16, default=AutopayStatus.ACTIVE)
    consecutive_failures = fields.SmallIntField(default=0)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    canceled_at = fields.DatetimeField(null=True)

    account_id: int
    member_id: int
    method_id: int

    class Meta:
        table = "autopay_enrollment"


class AutopayCharge(Model):
    """Exactly one row per enrollment, bill and cycle date: the claim that makes a charge once."""

    id = fields.IntField(primary_key=True)
    enrollment: fields.ForeignKeyRelation[AutopayEnrollment] = fields.ForeignKeyField(
        "models.AutopayEnrollment", related_name="charges", on_delete=fields.CASCADE
    )
    bill: fields.ForeignKeyRelation[Bill] = fields.ForeignKeyField(
        "models.Bill", related_name="autopay_charges", on_delete=fields.CASCADE
    )
    cycle_date = fields.DateField()
    status = fields.CharEnumField(AutopayChargeStatus, max_length=16)
    amount = fields.BigIntField(default=0)
    payment: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="autopay_charge", null=True, on_delete=fields.SET_NULL
    )
    skip_reason = fields.CharField(max_length=200, null=True)
    # How many times the cycle was claimed to charge; names each try's idempotency key.
    # The database default fills in the rows written before it existed.
    attempt = fields.SmallIntField(default=1, db_default=1)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    enrollment_id: int
    bill_id: int
    payment_id: int | None

    class Meta:
        table = "autopay_charge"
        unique_together = (("enrollment", "bill", "cycle_date"),)
