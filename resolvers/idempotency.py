"""Member-scoped idempotency keys for money mutations (Stripe / IETF Idempotency-Key model).

A key is claimed by inserting its record as the first write of the transaction that
makes the change, so a concurrent duplicate blocks on the unique (member, key) index
and then sees the claim. A refused request's claim goes with it (its transaction rolls
back, or a shared one deletes it): only requests that changed something hold on to
their key. Keys are kept 30 days.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from adapters.clock import now
from models.bulk import Then
from models.bulk_insert import insert_many
from models.enums import IdempotencyStatus, PaymentErrorCode
from models.records import IdempotencyRecord
from models.unsaved import unsaved
from models.validation import UNPRINTABLE_MESSAGE, has_unprintable, looks_like_card_number
from resolvers.payment_errors import CARD_NUMBER_MESSAGE, PaymentError

KEY_TTL = timedelta(days=30)
# A cancellation holds its claim while it waits for the processor, at most
# resolvers.cancellation.CALL_TIMEOUT_SECONDS. A claim still in progress this long
# after it was made (or taken over) belongs to a request that died: a crash, or a
# shutdown that could not wait for it.
ABANDONED_AFTER = timedelta(minutes=5)
MAX_KEY_LENGTH = 255
KEY_FIELD = ["idempotencyKey"]
# Autopay pays with keys of its own (resolvers.autopay_charges); clients may not take them.
AUTOPAY_KEY_PREFIX = "autopay:"


class KeyTaken(Exception):
    """The key is already claimed; raised inside the transaction so that it rolls back."""


def check_key(key: str, *, autopay: bool = False) -> str:
    """The key if it is usable; PaymentError otherwise (never echoing it)."""
    if key.startswith(AUTOPAY_KEY_PREFIX) and not autopay:
        raise PaymentError(
            PaymentErrorCode.INVALID_INPUT,
            f"Idempotency keys starting with {AUTOPAY_KEY_PREFIX!r} are reserved for autopay.",
            KEY_FIELD,
        )
    if has_unprintable(key):
        raise PaymentError(PaymentErrorCode.INVALID_INPUT, UNPRINTABLE_MESSAGE, KEY_FIELD)
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise PaymentError(
            PaymentErrorCode.INVALID_INPUT,
            f"The idempotency key must be 1 to {MAX_KEY_LENGTH} characters.",
            KEY_FIELD,
        )
    if looks_like_card_number(key):
        raise PaymentError(
            PaymentErrorCode.CARD_NUMBER_NOT_ACCEPTED, CARD_NUMBER_MESSAGE, KEY_FIELD
        )
    return key


def fingerprint(operation: str, request: dict[str, Any]) -> str:
    """A stable hash of what was asked, to tell a retry from a different request."""
    canonical = json.dumps({"op": operation, **request}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    """A key to claim for a request, and what to keep with it while the request runs."""

    member_id: int
    key: str
    operation: str
    request_hash: str
    response: dict[str, Any]


async def claim_all(
    conn: BaseDBAsyncClient, claims: Sequence[Claim], *, then: Then | None = None
) -> list[IdempotencyRecord | None]:
    """Insert each key as in progress, in one statement; None for a key claimed already,
    by another request or by an earlier claim in the list. `then`, a SELECT, runs after
    the claims (in the same statement on PostgreSQL, see models.bulk_insert)."""
    stamp = now()
    records: dict[tuple[int, str], IdempotencyRecord] = {}
    for c in claims:
        records.setdefault(
            (c.member_id, c.key),
            unsaved(
                IdempotencyRecord,
                member_id=c.member_id,
                key=c.key,
                operation=c.operation,
                request_hash=c.request_hash,
                status=IdempotencyStatus.IN_PROGRESS,
                response=c.response,
                created_at=stamp,
                expires_at=stamp + KEY_TTL,
            ),
        )
    # In key order, so that two transactions claiming some of the same keys never deadlock.
    ordered = [records[k] for k in sorted(records)]
    unique = ("member_id", "key")
    inserted = await insert_many(conn, ordered, unique=unique, skip_conflicts=True, then=then)
    fresh = {(record.member_id, record.key) for record in inserted}
    claimed: list[IdempotencyRecord | None] = []
    for c in claims:
        mine = (c.member_id, c.key) in fresh
        fresh.discard((c.member_id, c.key))  # a second claim of the key in the list meets the first
        claimed.append(records[c.member_id, c.key] if mine else None)
    return claimed


async def claim(
    conn: BaseDBAsyncClient,
    *,
    member_id: int,
    key: str,
    operation: str,
    request_hash: str,
    response: dict[str, Any],
) -> IdempotencyRecord:
    """Insert the key as in progress; KeyTaken if it already exists."""
    [record] = await claim_all(conn, [Claim(member_id, key, operation, request_hash, response)])
    if record is None:
        raise KeyTaken
    return record


async def existing(
    *, member_id: int, key: str, operation: str, request_hash: str
) -> dict[str, Any] | None:
    """The stored response of a claimed key (None if the claim has since rolled back).

    IDEMPOTENCY_KEY_REUSED if the key was claimed for a different request.
    """
    record = await IdempotencyRecord.get_or_none(member_id=member_id, key=key)
    if record is None:
        return None
    if record.operation != operation or record.request_hash != request_hash:
        raise PaymentError(
            PaymentErrorCode.IDEMPOTENCY_KEY_REUSED,
            "This idempotency key was already used for a different request.",
            KEY_FIELD,
        )
    return dict(record.response or {})


async def take_over(*, member_id: int, key: str, operation: str, request_hash: str) -> int | None:
    """Take over the claim of this key and request if it is still in progress and older
    than ABANDONED_AFTER: its request died. The claim is restamped as it is taken, by a
    guarded UPDATE of that very row, so that of several retries at once only one gets
    it, and no other can for ABANDONED_AFTER. The claim's id, or None."""
    stamp = now()
    abandoned = IdempotencyRecord.filter(
        status=IdempotencyStatus.IN_PROGRESS, created_at__lte=stamp - ABANDONED_AFTER
    )
    record = await abandoned.get_or_none(
        member_id=member_id, key=key, operation=operation, request_hash=request_hash
    )
    if record is None:
        return None
    taken = await abandoned.filter(id=record.id).update(created_at=stamp)
    return record.id if taken else None


async def complete(conn: BaseDBAsyncClient, record_id: int, response: dict[str, Any]) -> None:
    """Store the final response of a claimed key, in the transaction that produced it."""
    await (
        IdempotencyRecord.filter(id=record_id)
        .using_db(conn)
        .update(status=IdempotencyStatus.COMPLETED, response=response)
    )


async def release(record_id: int) -> None:
    """Forget a claim whose request turned out to change nothing."""
    await IdempotencyRecord.filter(id=record_id, status=IdempotencyStatus.IN_PROGRESS).delete()


async def purge_expired(*, before: datetime) -> int:
    """Delete keys that expired before the given time; returns how many.

    A key still IN_PROGRESS that old belongs to a request that died; its payment was
    finished by the reconciler long ago (replays read the payment, not this status).
    """
    return await IdempotencyRecord.filter(expires_at__lt=before).delete()
