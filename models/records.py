"""Append-only records: the event outbox, idempotency keys and the audit log."""

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.enums import IdempotencyStatus
from models.people import Member


class OutboxEvent(Model):
    """An event committed with the change it describes, whose monotonic id is the cursor."""

    id = fields.BigIntField(primary_key=True)
    topic = fields.CharField(max_length=32)
    type = fields.CharField(max_length=40)
    account_id = fields.IntField(null=True, db_index=True)
    member_id = fields.IntField(null=True, db_index=True)
    payment_id = fields.IntField(null=True)
    notification_id = fields.IntField(null=True)
    payload: dict[str, Any] = fields.JSONField(default=dict)
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "outbox_event"


class IdempotencyRecord(Model):
    """A member-scoped idempotency key and the result it stands for."""

    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "models.Member", related_name="idempotency_records", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=255)
    operation = fields.CharField(max_length=40)
    request_hash = fields.CharField(max_length=64)
    status = fields.CharEnumField(IdempotencyStatus, max_length=16)
    response: dict[str, Any] | None = fields.JSONField(null=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)

    member_id: int

    class Meta:
        table = "idempotency_record"
        unique_together = (("member", "key"),)


class AuditLog(Model):
    """Who did what to which record, written in the same transaction as the change."""

    id = fields.BigIntField(primary_key=True)
    actor_id = fields.IntField(null=True)
    action = fields.CharField(max_length=60)
    entity_type = fields.CharField(max_length=40)
    entity_id = fields.IntField()
    data: dict[str, Any] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()

    class Meta:
        table = "audit_log"
        indexes = (("entity_type", "entity_id"),)
