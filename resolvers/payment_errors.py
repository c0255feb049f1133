"""Expected failures of payments and payment methods, each with a domain code."""

from __future__ import annotations

from models.enums import PaymentErrorCode, PaymentMethodErrorCode
from models.payments import Payment
from resolvers.errors import DomainError

CARD_NUMBER_MESSAGE = (
    "This looks like a card number. Card numbers are never accepted here: "
    "add the card through the secure form, which sends us a processor token."
)


class PaymentError(DomainError):
    """A payment mutation refused or failed; `payment` is set when one was recorded."""

    code: PaymentErrorCode

    def __init__(
        self,
        code: PaymentErrorCode,
        message: str,
        field: list[str] | None = None,
        *,
        payment: Payment | None = None,
    ) -> None:
        super().__init__(code, message, field)
        self.payment = payment


class PaymentMethodError(DomainError):
    """A payment-method mutation refused."""

    code: PaymentMethodErrorCode

    def __init__(
        self, code: PaymentMethodErrorCode, message: str, field: list[str] | None = None
    ) -> None:
        super().__init__(code, message, field)
