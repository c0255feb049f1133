"""When a failed cycle is tried again within its window, and with which idempotency key.

A processor error (the processor did not answer) is no fault of the member's: the
cycle is tried again on the first run of a later day, up to RETRY_LIMIT tries, and
the error does not count toward suspension; the member hears of it only when no try
is left. A decline (or a returned debit) is tried again once the enrollment names
another payment method, once per change. Each try pays with its own key, derived
from the enrollment, bill, cycle date and the try's number.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from tortoise.backends.base.client import BaseDBAsyncClient

from adapters.clock import local_date
from models import AutopayCharge, Bill, Payment
from models.enums import AutopayChargeStatus, PaymentErrorCode
from resolvers.idempotency import AUTOPAY_KEY_PREFIX

RETRYABLE = frozenset({PaymentErrorCode.PROCESSOR_UNAVAILABLE.value})
RETRY_LIMIT = 4


def idempotency_key(enrollment_id: int, bill_id: int, cycle: date, attempt: int = 1) -> str:
    """The key a cycle's try pays with: the same on every worker and every resume of it."""
    key = f"{AUTOPAY_KEY_PREFIX}{enrollment_id}:{bill_id}:{cycle.isoformat()}"
    return key if attempt <= 1 else f"{key}:{attempt}"


def may_retry(charge: AutopayCharge, failed_with: int | None, method_id: int, today: date) -> bool:
    """Whether a FAILED cycle (its payment made with `failed_with`) may be tried again today."""
    if charge.status is not AutopayChargeStatus.FAILED:
        return False
    if failed_with is not None and failed_with != method_id:
        return True  # the member chose another method since
    return (
        charge.skip_reason in RETRYABLE
        and local_date(charge.updated_at) < today
        and charge.attempt < RETRY_LIMIT
    )


def last_try(charge: AutopayCharge, bill: Bill, today: date) -> bool:
    """Whether no retry is left after this try's processor error (window ends, or tries do)."""
    return today >= bill.due_date or charge.attempt >= RETRY_LIMIT


async def failed_with(
    charges: Iterable[AutopayCharge], conn: BaseDBAsyncClient | None = None
) -> dict[int, int]:
    """The payment method each failed charge's payment was made with, by payment id."""
    ids = [c.payment_id for c in charges if c.payment_id is not None]
    if not ids:
        return {}
    rows = await Payment.filter(id__in=ids).using_db(conn).values_list("id", "method_id")
    return {int(pid): int(mid) for pid, mid in rows}
