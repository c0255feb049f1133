"""payBill, cancelPayment and refundPayment: decode IDs, call one resolver, map errors."""

from decimal import Decimal

import strawberry

import models
from graph.context import Info
from graph.ids import decode_id
from graph.mutations.errors import CARD_NUMBER_MESSAGE, PaymentError, card_number_path
from graph.types.common import PaymentErrorCode
from graph.types.payment import Payment
from resolvers import cancellation, payments, refunds
from resolvers import payment_errors as domain
from resolvers.errors import NotFound

KEY_DESCRIPTION = (
    "Your unique key for this request (a UUID, say). Retrying with the same key and input "
    "returns the first result and never pays twice. Keys are scoped to you and kept 30 days."
)


@strawberry.input(description="Pay a bill in full or in part with a saved payment method.")
class PayBillInput:
    bill_id: strawberry.ID
    amount: Decimal = strawberry.field(description='In the bill\'s currency, e.g. "125.40".')
    payment_method_id: strawberry.ID
    idempotency_key: str = strawberry.field(description=KEY_DESCRIPTION)


@strawberry.type
class PayBillPayload:
    payment: Payment | None = strawberry.field(
        description="The payment, also when it failed (status FAILED) or is still pending."
    )
    errors: list[PaymentError]


@strawberry.input(description="Cancel a bank (ACH) payment that has not settled yet.")
class CancelPaymentInput:
    payment_id: strawberry.ID
    idempotency_key: str = strawberry.field(description=KEY_DESCRIPTION)


@strawberry.type
class CancelPaymentPayload:
    payment: Payment | None
    errors: list[PaymentError]


@strawberry.input(description="Refund a succeeded payment, in full or in part (staff only).")
class RefundPaymentInput:
    payment_id: strawberry.ID
    amount: Decimal | None = strawberry.field(
        default=None, description="Leave out to refund everything not yet refunded."
    )
    reason: str | None = None
    idempotency_key: str = strawberry.field(description=KEY_DESCRIPTION)


@strawberry.type
class RefundPaymentPayload:
    payment: Payment | None
    errors: list[PaymentError]


def _error(code: PaymentErrorCode, message: str, field: list[str] | None) -> list[PaymentError]:
    return [PaymentError(field=field, message=message, code=code)]


def _screen(input: object) -> list[PaymentError] | None:
    path = card_number_path(input)
    if path is None:
        return None
    return _error(PaymentErrorCode.CARD_NUMBER_NOT_ACCEPTED, CARD_NUMBER_MESSAGE, path)


def _wrap(payment: models.Payment | None) -> Payment | None:
    return None if payment is None else Payment(model=payment)


@strawberry.type
class PaymentMutations:
    @strawberry.mutation(description="Pay a bill; declines and limits come back in `errors`.")
    async def pay_bill(self, info: Info, input: PayBillInput) -> PayBillPayload:
        viewer = info.context.begin_mutation()
        if refused := _screen(input):
            return PayBillPayload(payment=None, errors=refused)
        try:
            bill_id = decode_id(input.bill_id, "Bill")
        except NotFound:
            missing = PaymentErrorCode.BILL_NOT_FOUND
            return PayBillPayload(
                payment=None, errors=_error(missing, "There is no such bill.", ["billId"])
            )
        try:
            method_id = decode_id(input.payment_method_id, "PaymentMethod")
        except NotFound:
            missing = PaymentErrorCode.PAYMENT_METHOD_NOT_FOUND
            message = "There is no such payment method."
            return PayBillPayload(
                payment=None, errors=_error(missing, message, ["paymentMethodId"])
            )
        try:
            payment = await payments.pay_bill_decimal(
                viewer=viewer,
                bill_id=bill_id,
                amount=input.amount,
                method_id=method_id,
                idempotency_key=input.idempotency_key,
            )
        except domain.PaymentError as exc:
            return PayBillPayload(payment=_wrap(exc.payment), errors=[PaymentError.of(exc)])
        return PayBillPayload(payment=Payment(model=payment), errors=[])

    @strawberry.mutation(description="Cancel a processing bank payment before it settles.")
    async def cancel_payment(self, info: Info, input: CancelPaymentInput) -> CancelPaymentPayload:
        viewer = info.context.begin_mutation()
        if refused := _screen(input):
            return CancelPaymentPayload(payment=None, errors=refused)
        try:
            payment = await cancellation.cancel_payment(
                viewer=viewer,
                payment_id=decode_id(input.payment_id, "Payment"),
                idempotency_key=input.idempotency_key,
            )
        except NotFound:
            missing = PaymentErrorCode.PAYMENT_NOT_FOUND
            message = "There is no such payment."
            return CancelPaymentPayload(
                payment=None, errors=_error(missing, message, ["paymentId"])
            )
        except domain.PaymentError as exc:
            return CancelPaymentPayload(payment=_wrap(exc.payment), errors=[PaymentError.of(exc)])
        return CancelPaymentPayload(payment=Payment(model=payment), errors=[])

    @strawberry.mutation(description="Refund a payment in full or in part. Staff only.")
    async def refund_payment(self, info: Info, input: RefundPaymentInput) -> RefundPaymentPayload:
        viewer = info.context.begin_mutation()
        if refused := _screen(input):
            return RefundPaymentPayload(payment=None, errors=refused)
        try:
            payment = await refunds.refund_payment(
                viewer=viewer,
                payment_id=decode_id(input.payment_id, "Payment"),
                amount=input.amount,
                reason=input.reason,
                idempotency_key=input.idempotency_key,
            )
        except NotFound:
            missing = PaymentErrorCode.PAYMENT_NOT_FOUND
            message = "There is no such payment."
            return RefundPaymentPayload(
                payment=None, errors=_error(missing, message, ["paymentId"])
            )
        except domain.PaymentError as exc:
            return RefundPaymentPayload(payment=_wrap(exc.payment), errors=[PaymentError.of(exc)])
        return RefundPaymentPayload(payment=Payment(model=payment), errors=[])
