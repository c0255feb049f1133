"""Domain enums, defined once; graph/ exposes them with strawberry.enum."""

from enum import Enum


class Role(str, Enum):
    MEMBER = "member"
    STAFF = "staff"


class AccountKind(str, Enum):
    HOSPITAL = "HOSPITAL"
    PROFESSIONAL = "PROFESSIONAL"
    LABORATORY = "LABORATORY"


class AccountStatus(str, Enum):
    ACTIVE = "ACTIVE"
    ON_HOLD = "ON_HOLD"
    CLOSED = "CLOSED"


class AccessRole(str, Enum):
    """How a member relates to a billing account."""

    GUARANTOR = "GUARANTOR"
    PROXY_PAY = "PROXY_PAY"
    PROXY_VIEW = "PROXY_VIEW"


class BillStatus(str, Enum):
    ISSUED = "ISSUED"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    OVERDUE = "OVERDUE"
    VOIDED = "VOIDED"


class PaymentMethodKind(str, Enum):
    CARD = "CARD"
    HSA_FSA_CARD = "HSA_FSA_CARD"
    ACH = "ACH"


class PaymentMethodStatus(str, Enum):
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    REMOVED = "REMOVED"


class BankAccountType(str, Enum):
    CHECKING = "CHECKING"
    SAVINGS = "SAVINGS"


class PaymentStatus(str, Enum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    REFUNDED = "REFUNDED"
    RETURNED = "RETURNED"


class PaymentKind(str, Enum):
    """The rail a payment travels on."""

    CARD = "CARD"
    ACH = "ACH"


class PaymentSource(str, Enum):
    """What started a payment."""

    ONE_TIME = "ONE_TIME"
    AUTOPAY = "AUTOPAY"


class PaymentEventType(str, Enum):
    PAYMENT_CREATED = "PAYMENT_CREATED"
    PAYMENT_PROCESSING = "PAYMENT_PROCESSING"
    PAYMENT_SUCCEEDED = "PAYMENT_SUCCEEDED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    PAYMENT_CANCELED = "PAYMENT_CANCELED"
    PAYMENT_REFUNDED = "PAYMENT_REFUNDED"
    PAYMENT_RETURNED = "PAYMENT_RETURNED"


class NotificationKind(str, Enum):
    PAYMENT_CONFIRMATION = "PAYMENT_CONFIRMATION"
    BILL_DUE_SOON = "BILL_DUE_SOON"
    BILL_OVERDUE = "BILL_OVERDUE"
    AUTOPAY_UPCOMING = "AUTOPAY_UPCOMING"
    AUTOPAY_FAILED = "AUTOPAY_FAILED"
    PAYMENT_METHOD_EXPIRING = "PAYMENT_METHOD_EXPIRING"
    STATEMENT_AVAILABLE = "STATEMENT_AVAILABLE"


class AutopayStrategy(str, Enum):
    STATEMENT_BALANCE = "STATEMENT_BALANCE"
    FIXED_AMOUNT = "FIXED_AMOUNT"
    MINIMUM_DUE = "MINIMUM_DUE"


class AutopayStatus(str, Enum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    CANCELED = "CANCELED"


class AutopayChargeStatus(str, Enum):
    """The outcome of one autopay cycle for one bill."""

    CLAIMED = "CLAIMED"
    CHARGED = "CHARGED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class IdempotencyStatus(str, Enum):
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"


class PaymentErrorCode(str, Enum):
    BILL_NOT_FOUND = "BILL_NOT_FOUND"
    PAYMENT_METHOD_NOT_FOUND = "PAYMENT_METHOD_NOT_FOUND"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    AMOUNT_EXCEEDS_BALANCE = "AMOUNT_EXCEEDS_BALANCE"
    BILL_NOT_PAYABLE = "BILL_NOT_PAYABLE"
    CARD_DECLINED = "CARD_DECLINED"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    PAYMENT_METHOD_EXPIRED = "PAYMENT_METHOD_EXPIRED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    PAYMENT_IN_PROGRESS = "PAYMENT_IN_PROGRESS"
    PROCESSOR_UNAVAILABLE = "PROCESSOR_UNAVAILABLE"
