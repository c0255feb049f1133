"""Refunds by billing staff, in full or in part, restoring the amount due.

The refund is recorded (payment, bill, Refund row, outbox, audit) in one transaction
that begins by claiming the idempotency key; the processor is told afterwards, with
the refund's own key, and the reconciler re-sends any refund it never confirmed.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from adapters.clock import now
from adapters.processor import ProcessorUnavailable, get_processor
from models.bills import Bill
from models.db import is_transient_conflict
from models.enums import PaymentErrorCode, PaymentEventType, PaymentStatus
from models.money import Money
from models.payments import Payment, Refund
from models.validation import (
    UNPRINTABLE_MESSAGE,
    InvalidAmount,
    has_unprintable,
    looks_like_card_number,
    parse_amount,
)
from resolvers import idempotency
from resolvers.access import Viewer
from resolvers.errors import Forbidden
from resolvers.payment_errors import CARD_NUMBER_MESSAGE, PaymentError
from resolvers.payment_states import LedgerError, write_event
from resolvers.screening import blank_to_none
from resolvers.to_the_end import to_the_end

log = logging.getLogger(__name__)
OPERATION = "refundPayment"
MAX_REASON = 300


async def refund_payment(
    *,
    viewer: Viewer,
    payment_id: int,
    amount: Decimal | None,
    reason: str | None,
    idempotency_key: str,
) -> Payment:
    """Refund a succeeded payment (all that is left of it when `amount` is None); staff only.
    Once begun, it runs to its end even if the caller leaves."""
    work = _refund(viewer, payment_id, amount, reason, idempotency_key)
    return await to_the_end(work)


async def _refund(
    viewer: Viewer, payment_id: int, amount: Decimal | None, reason: str | None, key: str
) -> Payment:
    if not viewer.is_staff:
        raise Forbidden("Only billing staff may refund payments.")
    idempotency.check_key(key)
    _check_reason(reason)
    reason = blank_to_none(reason)
    payment = await Payment.get_or_none(id=payment_id)
    if payment is None:
        raise PaymentError(
            PaymentErrorCode.PAYMENT_NOT_FOUND, "There is no such payment.", ["paymentId"]
        )
    try:
        minor = None if amount is None else parse_amount(amount, payment.currency)
    except InvalidAmount as exc:
        raise PaymentError(PaymentErrorCode.INVALID_AMOUNT, f"{exc}.", ["amount"]) from None
    request = {"payment": payment.id, "amount": minor, "reason": reason}
    request_hash = idempotency.fingerprint(OPERATION, request)
    for _ in range(3):
        try:
            refund = await _record(viewer, payment.id, minor, reason, key, request_hash)
        except idempotency.KeyTaken:
            stored = await idempotency.existing(
                member_id=viewer.member.id,
                key=key,
                operation=OPERATION,
                request_hash=request_hash,
            )
            if stored is None:
                continue
            return await Payment.get(id=int(str(stored["payment_id"])))
        except Exception as exc:
            # A deadlock with a payBill batch that holds the bill and waits for this key
            # (the same member's key, used for both at once): rolled back whole, so again.
            if not is_transient_conflict(exc):
                raise
            log.info("refund lost a race (%r); again", exc)
            continue
        await send_refund(refund)
        return await Payment.get(id=payment.id)
    raise PaymentError(
        PaymentErrorCode.PAYMENT_IN_PROGRESS,
        "A request with this idempotency key is being processed. Retry it shortly.",
        ["idempotencyKey"],
    )


def _check_reason(reason: str | None) -> None:
    if reason is None:
        return
    if looks_like_card_number(reason):
        raise PaymentError(
            PaymentErrorCode.CARD_NUMBER_NOT_ACCEPTED, CARD_NUMBER_MESSAGE, ["reason"]
        )
    if has_unprintable(reason):
        raise PaymentError(PaymentErrorCode.INVALID_INPUT, UNPRINTABLE_MESSAGE, ["reason"])
    if len(reason) > MAX_REASON:
        raise PaymentError(
            PaymentErrorCode.INVALID_INPUT,
            f"The reason must be at most {MAX_REASON} characters.",
            ["reason"],
        )


async def _record(
    viewer: Viewer,
    payment_id: int,
    amount: int | None,
    reason: str | None,
    key: str,
    request_hash: str,
) -> Refund:
    async with in_transaction() as conn:
        record = await idempotency.claim(
            conn,
            member_id=viewer.member.id,
            key=key,
            operation=OPERATION,
            request_hash=request_hash,
            response={"payment_id": payment_id},
        )
        # Locks the row on PostgreSQL; SQLite already holds its one write lock here.
        payment = await Payment.filter(id=payment_id).using_db(conn).select_for_update().get()
        if payment.status is not PaymentStatus.SUCCEEDED:
            raise PaymentError(
                PaymentErrorCode.PAYMENT_NOT_REFUNDABLE,
                "Only a succeeded payment can be refunded.",
                ["paymentId"],
            )
        remaining = payment.amount - payment.amount_refunded
        refund_amount = remaining if amount is None else amount
        if refund_amount > remaining:
            left = Money(remaining, payment.currency).formatted
            raise PaymentError(
                PaymentErrorCode.REFUND_EXCEEDS_PAYMENT,
                f"Only {left} of this payment is left to refund.",
                ["amount"],
            )
        status = PaymentStatus.REFUNDED if refund_amount == remaining else payment.status
        rows = (
            await Payment.filter(id=payment.id, amount_refunded=payment.amount_refunded)
            .using_db(conn)
            .update(
                amount_refunded=F("amount_refunded") + refund_amount,
                status=status,
                updated_at=now(),
            )
        )
        if rows != 1:
            raise LedgerError(f"payment {payment.id} changed under its row lock")
        refund = await Refund.create(
            payment_id=payment.id,
            staff_id=viewer.member.id,
            amount=refund_amount,
            reason=reason,
            created_at=now(),
            using_db=conn,
        )
        await (
            Bill.filter(id=payment.bill_id)
            .using_db(conn)
            .update(
                amount_refunded=F("amount_refunded") + refund_amount,
                amount_due=F("amount_due") + refund_amount,
            )
        )
        payment.status = status
        payment.amount_refunded += refund_amount
        await idempotency.complete(
            conn, record.id, {"payment_id": payment.id, "refund_id": refund.id}
        )
        details = {"refund_id": refund.id, "refund_amount": refund_amount}
        await write_event(
            conn,
            payment,
            PaymentEventType.PAYMENT_REFUNDED,
            actor_id=viewer.member.id,
            audit_data={**details, "reason": reason},
            extra={**details, "amount_refunded": payment.amount_refunded},
        )
    return refund


async def send_refund(refund: Refund) -> bool:
    """Tell the processor about a recorded refund, once per refund; False if it did not answer."""
    payment = await Payment.get(id=refund.payment_id)
    if payment.processor_reference is None:
        log.error("refund %s: payment %s has no processor reference", refund.id, payment.id)
        return False
    try:
        result = await get_processor().refund(
            idempotency_key=f"refund-{refund.id}",
            reference=payment.processor_reference,
            amount=refund.amount,
            currency=payment.currency,
        )
    except ProcessorUnavailable:
        log.warning("refund %s not sent: processor unavailable; the reconciler retries", refund.id)
        return False
    await Refund.filter(id=refund.id, processor_reference__isnull=True).update(
        processor_reference=result.reference
    )
    return True
