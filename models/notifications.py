"""Notifications a member reads in the app and receives live."""

from tortoise import fields
from tortoise.models import Model

from models.bills import Bill
from models.enums import NotificationKind
from models.payments import Payment
from models.people import BillingAccount, Member


class Notification(Model):
    """A confirmation or reminder for one member, its dedupe key making reminders once-only."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(NotificationKind, max_length=32)
    message = fields.CharField(max_length=500)
    bill: fields.ForeignKeyNullableRelation[Bill] = fields.ForeignKeyField(
        "models.Bill", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyNullableRelation[BillingAccount] = fields.ForeignKeyField(
        "models.BillingAccount", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    payment: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="notifications", null=True, on_delete=fields.SET_NULL
    )
    amount = fields.BigIntField(null=True)
    currency = fields.CharField(max_length=3, default="USD")
    dedupe_key = fields.CharField(max_length=160, null=True, unique=True)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    member_id: int
    bill_id: int | None
    account_id: int | None
    payment_id: int | None

    class Meta:
        table = "notification"
        indexes = (("member_id", "id"),)
