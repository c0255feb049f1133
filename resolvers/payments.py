"""Paying a bill: reserve the amount, charge outside any transaction, record the outcome.

1. One transaction reads and locks the bill, claims the idempotency key (its first
   write), moves the amount from due to pending, and inserts the PENDING payment
   (resolvers/payment_reserve.py).
2. The processor is called with the payment's own processor idempotency key.
3. One transaction applies the outcome: SUCCEEDED (pending -> paid), PROCESSING for ACH
   (stays pending until settlement), or FAILED (pending -> due again).
Steps 1 and 3 of concurrent requests share ledger transactions (group commit,
models/group_commit.py, and resolvers/payment_ledger.py): one transaction reserves some
requests' payments and records others' outcomes. Each request still gets its own result.
A declined payment is kept as FAILED with its failure code, and pay_bill raises
PaymentError carrying it.
Once begun, a request runs to its end even if its caller leaves (resolvers/to_the_end.py):
the payment is charged and recorded at once. A crash between 1 and 3 leaves a PENDING
payment that `resolvers.settlement.reconcile` finishes with the same processor key.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from decimal import Decimal

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient

from adapters.clock import now, service_zone
from adapters.processor import ChargeOutcome, ChargeResult, ProcessorUnavailable, get_processor
from models.business_days import add_business_days
from models.db import is_transient_conflict
from models.enums import PaymentErrorCode, PaymentSource, PaymentStatus
from models.group_commit import GroupCommit
from models.payments import Payment, PaymentMethod
from models.validation import check_amount, parse_amount
from resolvers import idempotency
from resolvers.access import Viewer
from resolvers.payment_errors import PaymentError
from resolvers.payment_ledger import Done, Work, record_all, transition_all
from resolvers.payment_moves import Move
from resolvers.payment_reserve import OPERATION, KeyTaken, Reservation, Reserved
from resolvers.payment_states import BillMove
from resolvers.to_the_end import to_the_end
from settings import Settings

log = logging.getLogger(__name__)
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
    if isinstance(connections.get("default"), TransactionalDBClient):
        # Its shared transactions must not run inside this caller's.
        raise RuntimeError("payBill must not be called inside a database transaction")
    request = Reservation(
        viewer=viewer,
        bill_id=bill_id,
        method_id=method_id,
        to_minor=to_minor,
        source=source,
        key=key,
        processor_key="pay_" + secrets.token_hex(16),
    )
    return await to_the_end(_reserve_and_charge(request))


async def _reserve_and_charge(request: Reservation) -> Payment:
    for _ in range(_CLAIM_ATTEMPTS):
        try:
            reserved = await _LEDGER.submit(request)
        except KeyTaken as taken:
            stored = await idempotency.existing(
                member_id=request.viewer.member.id,
                key=request.key,
                operation=OPERATION,
                request_hash=taken.request_hash,
            )
            if stored is None:
                continue  # the claim we met was a refused request that rolled back
            return await _replay(stored)
        assert isinstance(reserved, Reserved)  # the ledger answers a reservation so
        return await _charge(reserved.payment, reserved.method, reserved.claim_id)
    raise PaymentError(
        PaymentErrorCode.PAYMENT_IN_PROGRESS,
        "A request with this idempotency key is being processed. Retry it shortly.",
        ["idempotencyKey"],
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
    moved = await _LEDGER.submit(_charge_move(payment, result, record_id))
    assert moved is None or isinstance(moved, Payment)  # the ledger answers a move so
    return _outcome(moved or await Payment.get(id=payment.id))


async def apply_charge_result(
    payment: Payment, result: ChargeResult, *, idempotency_record_id: int | None = None
) -> Payment:
    """Record the processor's answer on a PENDING payment; the first answer recorded wins."""
    moved = (await transition_all([_charge_move(payment, result, idempotency_record_id)]))[0]
    return moved or await Payment.get(id=payment.id)


def _charge_move(payment: Payment, result: ChargeResult, record_id: int | None) -> Move:
    changes: dict[str, object] = {"processor_reference": result.reference}
    if result.outcome is ChargeOutcome.SUCCEEDED:
        to, move = PaymentStatus.SUCCEEDED, BillMove.SETTLE
    elif result.outcome is ChargeOutcome.PROCESSING:
        to, move = PaymentStatus.PROCESSING, BillMove.NONE
        days = Settings.from_env().ach_settlement_days
        changes["settle_after"] = add_business_days(now(), days, service_zone())
    else:
        to, move = PaymentStatus.FAILED, BillMove.RELEASE
        changes["failure_code"] = result.error_code or PaymentErrorCode.CARD_DECLINED.value
        changes["failure_message"] = (result.message or "The payment was declined.")[:300]
    return Move(payment, PaymentStatus.PENDING, to, move, None, changes, record_id)


# Reservations of some requests and outcomes of others share one ledger transaction.
_LEDGER: GroupCommit[Work, Done] = GroupCommit(
    "payBill ledger", record_all, retry_if=is_transient_conflict
)


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
