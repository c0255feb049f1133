"""Statements (bills) and their line items; amounts in minor units."""

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from models.people import BillingAccount


class Bill(Model):
    """One statement, whose ledger columns change only through guarded conditional updates."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[BillingAccount] = fields.ForeignKeyField(
        "models.BillingAccount", related_name="bills", on_delete=fields.RESTRICT
    )
    statement_number = fields.CharField(max_length=32, unique=True)
    statement_date = fields.DateField()
    due_date = fields.DateField()
    currency = fields.CharField(max_length=3, default="USD")
    total_charges = fields.BigIntField()
    insurance_paid = fields.BigIntField(default=0)
    adjustments = fields.BigIntField(default=0)
    patient_responsibility = fields.BigIntField()
    amount_paid = fields.BigIntField(default=0)
    amount_pending = fields.BigIntField(default=0)
    amount_refunded = fields.BigIntField(default=0)
    amount_due = fields.BigIntField()
    minimum_due = fields.BigIntField(default=0)
    voided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    account_id: int

    class Meta:
        table = "bill"
        indexes = (("account_id", "statement_date"), ("due_date",))
        constraints = (
            CheckConstraint(check="amount_due >= 0", name="bill_amount_due_not_negative"),
            CheckConstraint(check="amount_pending >= 0", name="bill_amount_pending_not_negative"),
            CheckConstraint(
                check="patient_responsibility = total_charges - insurance_paid - adjustments",
                name="bill_patient_responsibility_ledger",
            ),
            CheckConstraint(
                check="amount_due = patient_responsibility - amount_paid - amount_pending"
                " + amount_refunded",
                name="bill_amount_due_ledger",
            ),
        )


class BillLineItem(Model):
    """One service on a statement, coded with CPT/HCPCS."""

    id = fields.IntField(primary_key=True)
    bill: fields.ForeignKeyRelation[Bill] = fields.ForeignKeyField(
        "models.Bill", related_name="line_items", on_delete=fields.CASCADE
    )
    position = fields.SmallIntField(default=0)
    service_date = fields.DateField()
    code = fields.CharField(max_length=16)
    description = fields.CharField(max_length=300)
    provider = fields.CharField(max_length=200)
    charge = fields.BigIntField()
    insurance_paid = fields.BigIntField(default=0)
    adjustment = fields.BigIntField(default=0)
    patient_amount = fields.BigIntField()

    bill_id: int

    class Meta:
        table = "bill_line_item"
        constraints = (
            CheckConstraint(
                check="patient_amount = charge - insurance_paid - adjustment",
                name="line_item_patient_amount_ledger",
            ),
        )
