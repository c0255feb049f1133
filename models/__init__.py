"""The domain: Tortoise models, Money, ledger arithmetic and state machines."""

from models.autopay import AutopayCharge, AutopayEnrollment
from models.bills import Bill, BillLineItem
from models.notifications import Notification
from models.payments import Payment, PaymentMethod, Refund, SandboxCharge
from models.people import AccountAccess, BillingAccount, Member
from models.records import AuditLog, IdempotencyRecord, OutboxEvent

__all__ = [
    "AccountAccess",
    "AuditLog",
    "AutopayCharge",
    "AutopayEnrollment",
    "Bill",
    "BillLineItem",
    "BillingAccount",
    "IdempotencyRecord",
    "Member",
    "Notification",
    "OutboxEvent",
    "Payment",
    "PaymentMethod",
    "Refund",
    "SandboxCharge",
]
