"""Paying a bill: reserve the amount, charge outside any transaction, record the outcome.

1. One transaction claims the idempotency key (its first write), moves the amount from
   due to pending with a guarded UPDATE, and inserts the PENDING payment.
2. The processor is called with the payment's own processor idempotency key.
3. One transaction applies the outcome: SUCCEEDED (pending -> paid), PROCESSING for ACH
   (stays pending until settlement), or FAILED (pending -> due again).
A declined payment is kept as FAILED with its failure code, and pay_bill raises
PaymentError carrying it. A crash between 1 and 3 leaves a PENDING payment that
`resolvers.settlement.reconcile` finishes with the same processor key.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from decimal import Decimal

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from adapters.clock import now, today
from adapters.processor import ChargeOutcome, ChargeResult, ProcessorUnavailable, get_processor
from models.bills import Bill
from models.business_days import add_business_days
from models.enums import (
    PaymentErrorCode,
    PaymentKind,
    PaymentMethodKind,
    PaymentMethodStatus,
    PaymentSource,
    PaymentStatus,
)
from models.money import Money
from models.payments import Payment, PaymentMethod
from models.validation import InvalidAmount, check_amount, parse_amount
from resolvers import idempotency
from resolvers.access import Viewer
from resolvers.errors import Forbidden
from resolvers.payment_errors import PaymentError
from resolvers.payment_states import BillMove, record_created, transition
from settings import Settings

log = logging.getLogger(__name__)
OPERATION = "payBill"
_CLAIM_ATTEMPTS = 3

__all__ = ["PaymentError", "apply_charge_result", "pay_bill", "pay_bill_decimal"]


async def pay_bill(
    *,
    viewer: Viewer,
    bill_id: int,
    amount: int,
    method_id: int,
    idempotency_key: str,
    source: PaymentSource = PaymentSource.ONE_TIME,
) -> Payment:
    """Pay `amount` minor units of a bill with a saved method, once per idempotency key."""
    return await _pay(
        viewer, bill_id, method_id, idempotency_key, source, lambda _: check_amount(amount)
    )


async def pay_bill_decimal(
    *,
    viewer: Viewer,
    bill_id: int,
    amount: Decimal,
    method_id: int,
    idempotency_key: str,
    source: PaymentSource = PaymentSource.ONE_TIME,
) -> Payment:
    """The same, with the amount as a decimal in the bill's currency (e.g. 125.40)."""
    return await _pay(
        viewer, bill_id, method_id, idempotency_key, source, lambda c: parse_amount(amount, c)
    )


async def _pay(
    viewer: Viewer,
    bill_id: int,
    method_id: int,
    key: str,
    source: PaymentSource,
    to_minor: Callable[[str], int],
) -> Payment:
    idempotency.check_key(key, autopay=source is PaymentSource.AUTOPAY)
    bill = await Bill.get_or_none(id=bill_id)
    if bill is None or not viewer.can_see(bill.account_id):
        raise PaymentError(PaymentErrorCode.BILL_NOT_FOUND, "There is no such bill.", ["billId"])
    if not viewer.can_pay(bill.account_id):
        raise Forbidden("Your access to this account does not include paying its bills.")
    try:
        amount = to_minor(bill.currency)
    except InvalidAmount as exc:
        message = str(exc)
        raise PaymentError(
            PaymentErrorCode.INVALID_AMOUNT, message[:1].upper() + message[1:] + ".", ["amount"]
        ) from None
    request = {"bill": bill.id, "amount": amount, "method": method_id, "source": source.value}
    request_hash = idempotency.fingerprint(OPERATION, request)
    method = await PaymentMethod.get_or_none(id=method_id, member_id=viewer.member.id)
    for _ in range(_CLAIM_ATTEMPTS):
        try:
            payment, record_id = await _reserve(
                viewer, bill, method, amount, source, key, request_hash
            )
        except idempotency.KeyTaken:
            stored = await idempotency.existing(
                member_id=viewer.member.id, key=key, operation=OPERATION, request_hash=request_hash
            )
            if stored is None:
                continue  # the claim we met was a refused request that rolled back
            return await _replay(stored)
        assert method is not None  # _reserve refused otherwise
        return await _charge(payment, method, record_id)
    raise PaymentError(
        PaymentErrorCode.PAYMENT_IN_PROGRESS,
        "A request with this idempotency key is being processed. Retry it shortly.",
        ["idempotencyKey"],
    )


async def _reserve(
    viewer: Viewer,
    bill: Bill,
    method: PaymentMethod | None,
    amount: int,
    source: PaymentSource,
    key: str,
    request_hash: str,
) -> tuple[Payment, int]:
    """Claim the key, move the amount from due to pending, insert the PENDING payment."""
    processor_key = "pay_" + secrets.token_hex(16)
    async with in_transaction() as conn:
        record = await idempotency.claim(
            conn,
            member_id=viewer.member.id,
            key=key,
            operation=OPERATION,
            request_hash=request_hash,
            response={"processor_key": processor_key},
        )
        usable = _usable(method)
        rows = (
            await Bill.filter(id=bill.id, voided_at__isnull=True, amount_due__gte=amount)
            .using_db(conn)
            .update(
                amount_due=F("amount_due") - amount, amount_pending=F("amount_pending") + amount
            )
        )
        if rows != 1:
            current = await Bill.filter(id=bill.id).using_db(conn).get()
            raise _refusal(current, amount)
        stamp = now()
        payment = await Payment.create(
            bill_id=bill.id,
            account_id=bill.account_id,
            member_id=viewer.member.id,
            method_id=usable.id,
            amount=amount,
            currency=bill.currency,
            status=PaymentStatus.PENDING,
            kind=PaymentKind.ACH if usable.kind is PaymentMethodKind.ACH else PaymentKind.CARD,
            source=source,
            processor_idempotency_key=processor_key,
            created_at=stamp,
            updated_at=stamp,
            using_db=conn,
        )
        await record_created(conn, payment, actor_id=viewer.member.id)
    return payment, record.id


def _usable(method: PaymentMethod | None) -> PaymentMethod:
    if method is None or method.status is PaymentMethodStatus.REMOVED:
        raise PaymentError(
            PaymentErrorCode.PAYMENT_METHOD_NOT_FOUND,
            "There is no such payment method.",
            ["paymentMethodId"],
        )
    day = today()
    expired = method.exp_year is not None and (method.exp_year, method.exp_month or 12) < (
        day.year,
        day.month,
    )
    if method.status is PaymentMethodStatus.EXPIRED or expired:
        raise PaymentError(
            PaymentErrorCode.PAYMENT_METHOD_EXPIRED,
            "This card has expired. Choose another payment method.",
            ["paymentMethodId"],
        )
    return method


def _refusal(bill: Bill, amount: int) -> PaymentError:
    if bill.voided_at is not None:
        return PaymentError(PaymentErrorCode.BILL_NOT_PAYABLE, "This bill was voided.", ["billId"])
    if bill.amount_due == 0:
        return PaymentError(
            PaymentErrorCode.BILL_NOT_PAYABLE, "Nothing is due on this bill.", ["billId"]
        )
    due = Money(bill.amount_due, bill.currency).formatted
    return PaymentError(
        PaymentErrorCode.AMOUNT_EXCEEDS_BALANCE,
        f"The amount is more than the {due} due on this bill.",
        ["amount"],
    )


async def _charge(payment: Payment, method: PaymentMethod, record_id: int) -> Payment:
    try:
        result = await get_processor().charge(
            idempotency_key=payment.processor_idempotency_key,
            token=method.processor_token,
            amount=payment.amount,
            currency=payment.currency,
        )
    except ProcessorUnavailable:
        log.warning("processor unavailable for payment %s; the reconciler finishes it", payment.id)
        raise PaymentError(
            PaymentErrorCode.PROCESSOR_UNAVAILABLE,
            "The payment processor did not answer. Your payment is pending and will be "
            "confirmed or released shortly; retry with the same idempotency key to see it.",
            payment=payment,
        ) from None
    return _outcome(await apply_charge_result(payment, result, idempotency_record_id=record_id))


async def apply_charge_result(
    payment: Payment, result: ChargeResult, *, idempotency_record_id: int | None = None
) -> Payment:
    """Record the processor's answer on a PENDING payment; the first answer recorded wins."""
    changes: dict[str, object] = {"processor_reference": result.reference}
    if result.outcome is ChargeOutcome.SUCCEEDED:
        to, move = PaymentStatus.SUCCEEDED, BillMove.SETTLE
    elif result.outcome is ChargeOutcome.PROCESSING:
        to, move = PaymentStatus.PROCESSING, BillMove.NONE
        days = Settings.from_env().ach_settlement_days
        changes["settle_after"] = add_business_days(now(), days)
    else:
        to, move = PaymentStatus.FAILED, BillMove.RELEASE
        changes["failure_code"] = result.error_code or PaymentErrorCode.CARD_DECLINED.value
        changes["failure_message"] = (result.message or "The payment was declined.")[:300]
    moved = await transition(
        payment,
        expected=PaymentStatus.PENDING,
        to=to,
        bill=move,
        actor_id=None,
        changes=changes,
        idempotency_record_id=idempotency_record_id,
    )
    return moved or await Payment.get(id=payment.id)


async def _replay(stored: dict[str, object]) -> Payment:
    # In progress the record names the processor key; completed, the payment itself.
    if "payment_id" in stored:
        payment = await Payment.get(id=int(str(stored["payment_id"])))
    else:
        payment = await Payment.get(processor_idempotency_key=str(stored["processor_key"]))
    return _outcome(payment)


def _outcome(payment: Payment) -> Payment:
    """The payment as the result of a payBill request, or its failure as a PaymentError."""
    if payment.status is PaymentStatus.PENDING:
        raise PaymentError(
            PaymentErrorCode.PAYMENT_IN_PROGRESS,
            "This payment is still being processed.",
            ["idempotencyKey"],
            payment=payment,
        )
    if payment.status is PaymentStatus.FAILED:
        code = payment.failure_code or ""
        known = code in PaymentErrorCode.__members__
        raise PaymentError(
            PaymentErrorCode(code) if known else PaymentErrorCode.CARD_DECLINED,
            payment.failure_message or "The payment was declined.",
            payment=payment,
        )
    return payment
