"""Canceling an ACH payment that has not settled yet, which restores the amount due."""

from __future__ import annotations

import asyncio

from tortoise.transactions import in_transaction

from adapters.processor import ProcessorUnavailable, get_processor
from models.enums import PaymentErrorCode, PaymentKind, PaymentStatus
from models.payments import Payment
from resolvers import idempotency
from resolvers.access import Viewer
from resolvers.errors import Forbidden
from resolvers.payment_errors import PaymentError
from resolvers.payment_ledger import transition
from resolvers.payment_moves import response_of
from resolvers.payment_states import BillMove
from resolvers.to_the_end import to_the_end

OPERATION = "cancelPayment"
# How long a cancellation waits for the processor before answering PROCESSOR_UNAVAILABLE:
# far inside idempotency.ABANDONED_AFTER, so that a live claim is never taken over.
CALL_TIMEOUT_SECONDS = 30.0


def _not_cancelable(message: str) -> PaymentError:
    return PaymentError(PaymentErrorCode.PAYMENT_NOT_CANCELABLE, message, ["paymentId"])


def _too_late() -> PaymentError:
    return _not_cancelable("This payment has already settled and can no longer be canceled.")


async def cancel_payment(*, viewer: Viewer, payment_id: int, idempotency_key: str) -> Payment:
    """Cancel a PROCESSING ACH payment before settlement, once per idempotency key. Once
    begun, it runs to its end even if the caller leaves."""
    return await to_the_end(_cancel(viewer, payment_id, idempotency_key))


async def _cancel(viewer: Viewer, payment_id: int, idempotency_key: str) -> Payment:
    idempotency.check_key(idempotency_key)
    payment = await Payment.get_or_none(id=payment_id)
    if payment is None or not viewer.can_see(payment.account_id):
        raise PaymentError(
            PaymentErrorCode.PAYMENT_NOT_FOUND, "There is no such payment.", ["paymentId"]
        )
    if not (viewer.is_staff or viewer.can_pay(payment.account_id)):
        raise Forbidden("Your access to this account does not include its payments.")
    mine = payment.member_id == viewer.member.id
    if not (viewer.is_staff or mine or viewer.is_guarantor(payment.account_id)):
        raise Forbidden("Only who made this payment, or the account's guarantor, can cancel it.")
    member_id = viewer.member.id
    request_hash = idempotency.fingerprint(OPERATION, {"payment": payment.id})
    stored = await idempotency.existing(
        member_id=member_id, key=idempotency_key, operation=OPERATION, request_hash=request_hash
    )
    if stored is not None:
        return await _replay(payment.id, member_id, idempotency_key, request_hash)
    if payment.status is not PaymentStatus.PROCESSING or payment.kind is not PaymentKind.ACH:
        raise _not_cancelable("Only a bank (ACH) payment that is still processing can be canceled.")
    try:
        async with in_transaction() as conn:
            record = await idempotency.claim(
                conn,
                member_id=member_id,
                key=idempotency_key,
                operation=OPERATION,
                request_hash=request_hash,
                response={"payment_id": payment.id},
            )
    except idempotency.KeyTaken:
        # Claimed since the check above, by this request or another: IDEMPOTENCY_KEY_REUSED
        # if another (another payment's cancellation under the same key).
        await idempotency.existing(
            member_id=member_id, key=idempotency_key, operation=OPERATION, request_hash=request_hash
        )
        return await _replay(payment.id, member_id, idempotency_key, request_hash)
    return await _ask_processor(payment, record.id, member_id)


async def _ask_processor(payment: Payment, record_id: int, member_id: int) -> Payment:
    """Cancel at the processor under a claimed key (waiting at most CALL_TIMEOUT_SECONDS),
    then record it, or release the key."""
    try:
        return await _cancel_and_record(payment, record_id, member_id)
    except asyncio.CancelledError:
        # Cut off at shutdown. Whatever the processor did, a retry with the key asks it
        # again and hears the same; a key whose cancellation was recorded is not released.
        await idempotency.release(record_id)
        raise


async def _cancel_and_record(payment: Payment, record_id: int, member_id: int) -> Payment:
    try:
        async with asyncio.timeout(CALL_TIMEOUT_SECONDS):
            canceled = await get_processor().cancel(reference=str(payment.processor_reference))
    except (ProcessorUnavailable, TimeoutError):
        # Canceled or not at the processor, the settlement job records what it says.
        await idempotency.release(record_id)
        raise PaymentError(
            PaymentErrorCode.PROCESSOR_UNAVAILABLE,
            "The payment processor did not answer. Try again shortly.",
        ) from None
    if not canceled:
        await idempotency.release(record_id)
        raise _too_late()
    moved = await transition(
        payment,
        expected=PaymentStatus.PROCESSING,
        to=PaymentStatus.CANCELED,
        bill=BillMove.RELEASE,
        actor_id=member_id,
        idempotency_record_id=record_id,
    )
    if moved is not None:
        return moved
    # The settlement job heard of the cancellation first and recorded it.
    current = await Payment.get(id=payment.id)
    async with in_transaction() as conn:
        await idempotency.complete(conn, record_id, response_of(current))
    return current


async def _replay(payment_id: int, member_id: int, key: str, request_hash: str) -> Payment:
    """The payment as a claimed key left it. A claim whose request died before it was
    done (idempotency.ABANDONED_AFTER) is taken over and finished by this one."""
    payment = await Payment.get(id=payment_id)
    if payment.status is PaymentStatus.CANCELED:
        return payment
    record_id = await idempotency.take_over(
        member_id=member_id, key=key, operation=OPERATION, request_hash=request_hash
    )
    if record_id is None:
        raise PaymentError(
            PaymentErrorCode.PAYMENT_IN_PROGRESS,
            "A cancellation with this idempotency key is being processed.",
            ["idempotencyKey"],
            payment=payment,
        )
    if payment.status is PaymentStatus.PROCESSING:
        return await _ask_processor(payment, record_id, member_id)
    await idempotency.release(record_id)  # it settled or was returned meanwhile
    raise _too_late()
