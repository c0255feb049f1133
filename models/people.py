"""Members, billing accounts and who may see or pay which account."""

from tortoise import fields
from tortoise.models import Model

from models.enums import AccessRole, AccountKind, AccountStatus, Role


class Member(Model):
    """A person who signs in: a patient, guarantor, proxy, or billing-office staff."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    role = fields.CharEnumField(Role, max_length=16, default=Role.MEMBER)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "member"


class BillingAccount(Model):
    """A provider account held by a guarantor, against which statements are issued."""

    id = fields.IntField(primary_key=True)
    account_number = fields.CharField(max_length=32, unique=True)
    kind = fields.CharEnumField(AccountKind, max_length=16)
    provider_name = fields.CharField(max_length=200)
    currency = fields.CharField(max_length=3, default="USD")
    status = fields.CharEnumField(AccountStatus, max_length=16, default=AccountStatus.ACTIVE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "billing_account"


class AccountAccess(Model):
    """A member's access to an account: guarantor, proxy who may pay, or proxy who may view."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="accesses", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyRelation[BillingAccount] = fields.ForeignKeyField(
        "models.BillingAccount", related_name="accesses", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(AccessRole, max_length=16)
    granted_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    member_id: int
    account_id: int

    class Meta:
        table = "account_access"
        unique_together = (("member", "account"),)
