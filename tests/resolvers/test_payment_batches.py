"""payBill's shared transactions, on both databases: a mixed batch decides each request as
if it ran alone, in order, and writes for each exactly what a lone request writes."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from tortoise.transactions import in_transaction

from adapters.clock import FixedClock, set_clock
from adapters.processor import ChargeOutcome, ChargeResult
from models import (
    AuditLog,
    Bill,
    IdempotencyRecord,
    Member,
    Notification,
    OutboxEvent,
    Payment,
    PaymentMethod,
)
from models.enums import PaymentErrorCode, PaymentMethodStatus, PaymentSource, PaymentStatus
from models.validation import check_amount, parse_amount
from resolvers.access import load_viewer
from resolvers.payment_errors import PaymentError
from resolvers.payment_ledger import Done, Work, record_all, transition_all
from resolvers.payment_moves import Move
from resolvers.payment_reserve import Reservation, Reserved
from resolvers.payment_states import BillMove, LedgerError
from resolvers.payments import apply_charge_result, pay_bill
from tests import factories
from tests.ledger import assert_ledger, snapshot


async def _request(
    member_id: int,
    bill: Bill,
    method_id: int,
    amount: int | Decimal,
    key: str,
) -> Reservation:
    member = await Member.get(id=member_id)
    viewer = await load_viewer(member.email, "member")
    assert viewer is not None
    if isinstance(amount, Decimal):
        exact = amount
        to_minor: Callable[[str], int] = lambda currency: parse_amount(exact, currency)  # noqa: E731
    else:
        to_minor = lambda _: check_amount(amount)  # noqa: E731
    return Reservation(
        viewer=viewer,
        bill_id=bill.id,
        method_id=method_id,
        to_minor=to_minor,
        source=PaymentSource.ONE_TIME,
        key=key,
        processor_key="pay_" + secrets.token_hex(16),
    )


async def reserve_all(requests: list[Reservation]) -> list[Reserved | Exception]:
    """One ledger transaction of reservations only."""
    answers = []
    for done in await record_all(requests):
        assert isinstance(done, Reserved | Exception), done
        answers.append(done)
    return answers


def _code(outcome: Reserved | Exception) -> str:
    if isinstance(outcome, Reserved):
        return "reserved"
    if isinstance(outcome, PaymentError):
        return outcome.code.value
    return type(outcome).__name__


async def test_a_mixed_batch_decides_each_request_in_order(db: str) -> None:
    set_clock(FixedClock(datetime(2026, 11, 25, 12, tzinfo=UTC)))
    jo = await factories.member()
    acct = await factories.account(jo)
    card = await factories.card(jo)
    removed = await factories.card(jo, token="tok_mastercard")
    await PaymentMethod.filter(id=removed.id).update(status=PaymentMethodStatus.REMOVED)
    first = await factories.bill(acct, due=10_000)
    second = await factories.bill(acct, due=5_000)
    voided = await factories.bill(acct, due=5_000)
    await Bill.filter(id=voided.id).update(voided_at=datetime(2026, 11, 1, tzinfo=UTC))
    await _paid_key(jo.id, "taken-before")
    sam = await factories.member()
    sams = await factories.bill(await factories.account(sam), due=5_000)

    requests = [
        await _request(jo.id, first, card.id, 6_000, "a"),  # fits: 4,000 left
        await _request(jo.id, first, card.id, 5_000, "b"),  # no longer fits
        await _request(jo.id, first, card.id, 4_000, "c"),  # fits exactly: 0 left
        await _request(jo.id, second, card.id, 1_000, "a"),  # the same key as the first
        await _request(jo.id, second, removed.id, 1_000, "d"),  # a removed card
        await _request(jo.id, voided, card.id, 1_000, "e"),  # a voided bill
        await _request(jo.id, second, card.id, 2_500, "taken-before"),
        await _request(jo.id, second, card.id, 2_500, "f"),  # fits
        await _request(jo.id, first, card.id, 1, "g"),  # nothing left
        await _request(jo.id, sams, card.id, 1_000, "h"),  # another member's bill
        await _request(jo.id, second, card.id, Decimal("1.001"), "i"),  # a tenth of a cent
    ]
    outcomes = await reserve_all(requests)

    assert [_code(o) for o in outcomes] == [
        "reserved",
        "AMOUNT_EXCEEDS_BALANCE",
        "reserved",
        "KeyTaken",
        "PAYMENT_METHOD_NOT_FOUND",
        "BILL_NOT_PAYABLE",
        "KeyTaken",
        "reserved",
        "BILL_NOT_PAYABLE",
        "BILL_NOT_FOUND",
        "INVALID_AMOUNT",
    ]
    assert str(outcomes[1]) == "The amount is more than the $40.00 due on this bill."
    reserved = [o for o in outcomes if isinstance(o, Reserved)]
    assert [r.payment.amount for r in reserved] == [6_000, 4_000, 2_500]
    fresh = {b.id: b for b in await Bill.all()}
    assert (fresh[first.id].amount_due, fresh[first.id].amount_pending) == (0, 10_000)
    assert (fresh[second.id].amount_due, fresh[second.id].amount_pending) == (2_500, 2_500)
    assert fresh[voided.id].amount_due == 5_000
    # Only the reserved requests and the earlier request hold a key.
    keys = await IdempotencyRecord.all().order_by("id").values_list("key", flat=True)
    assert keys == ["taken-before", "a", "c", "f"]
    for r in reserved:
        stored = await Payment.get(id=r.payment.id)
        assert stored.status is PaymentStatus.PENDING
        assert stored.processor_idempotency_key == r.payment.processor_idempotency_key
        claim = await IdempotencyRecord.get(id=r.claim_id)
        assert claim.response == {"processor_key": stored.processor_idempotency_key}
        assert await OutboxEvent.filter(payment_id=stored.id, type="PAYMENT_CREATED").count() == 1
        assert await AuditLog.filter(entity_id=stored.id, action="payment.created").count() == 1
    await assert_ledger()


async def test_a_batch_that_keeps_nothing_changes_nothing(db: str) -> None:
    jo = await factories.member()
    acct = await factories.account(jo)
    card = await factories.card(jo)
    bill = await factories.bill(acct, due=1_000)
    before = await snapshot()

    outcomes = await reserve_all(
        [
            await _request(jo.id, bill, card.id, 2_000, "x"),
            await _request(jo.id, bill, card.id + 99, 500, "y"),
        ]
    )

    assert [_code(o) for o in outcomes] == ["AMOUNT_EXCEEDS_BALANCE", "PAYMENT_METHOD_NOT_FOUND"]
    assert await snapshot() == before


async def test_a_missing_bill_is_refused_alone(db: str) -> None:
    jo = await factories.member()
    acct = await factories.account(jo)
    card = await factories.card(jo)
    bill = await factories.bill(acct, due=1_000)
    gone = Bill(id=bill.id + 99, account_id=acct.id, currency="USD")

    outcomes = await reserve_all(
        [
            await _request(jo.id, gone, card.id, 100, "gone"),
            await _request(jo.id, bill, card.id, 100, "here"),
        ]
    )

    assert [_code(o) for o in outcomes] == ["BILL_NOT_FOUND", "reserved"]
    assert await IdempotencyRecord.all().values_list("key", flat=True) == ["here"]


async def test_paying_inside_a_transaction_is_refused_before_anything_is_read(db: str) -> None:
    jo = await factories.member("in-tx@example.org")
    acct = await factories.account(jo)
    card = await factories.card(jo)
    bill = await factories.bill(acct, due=1_000)
    viewer = await load_viewer("in-tx@example.org", "member")
    assert viewer is not None

    with pytest.raises(RuntimeError, match="inside a database transaction"):
        async with in_transaction():
            await pay_bill(
                viewer=viewer, bill_id=bill.id, amount=100, method_id=card.id, idempotency_key="t"
            )
    assert await Payment.all().count() == 0


async def test_two_members_may_use_the_same_key_in_one_batch(db: str) -> None:
    jo, sam = await factories.member(), await factories.member()
    bills, cards = [], []
    for person in (jo, sam):
        bills.append(await factories.bill(await factories.account(person), due=1_000))
        cards.append(await factories.card(person))

    outcomes = await reserve_all(
        [
            await _request(p.id, b, c.id, 100, "same")
            for p, b, c in zip((jo, sam), bills, cards, strict=True)
        ]
    )

    assert [_code(o) for o in outcomes] == ["reserved", "reserved"]
    owners = {r.payment.member_id for r in outcomes if isinstance(r, Reserved)}
    assert owners == {jo.id, sam.id}


async def test_a_batch_of_outcomes_applies_each_and_skips_payments_moved_already(db: str) -> None:
    jo = await factories.member()
    acct = await factories.account(jo)
    card = await factories.card(jo)
    bill = await factories.bill(acct, due=10_000)
    other = await factories.bill(acct, due=10_000)
    requests = [
        await _request(jo.id, bill, card.id, 1_000, "s1"),
        await _request(jo.id, bill, card.id, 2_000, "f1"),
        await _request(jo.id, other, card.id, 3_000, "s2"),
        await _request(jo.id, other, card.id, 4_000, "moved"),
    ]
    reserved = [o for o in await reserve_all(requests) if isinstance(o, Reserved)]
    assert len(reserved) == 4
    # The reconciler records the last one's answer first.
    done = reserved[3].payment
    await apply_charge_result(done, ChargeResult(ChargeOutcome.SUCCEEDED, "ch_first"))

    def move(r: Reserved, ok: bool, reference: str) -> Move:
        to, how = (
            (PaymentStatus.SUCCEEDED, BillMove.SETTLE)
            if ok
            else (PaymentStatus.FAILED, BillMove.RELEASE)
        )
        changes = {"processor_reference": reference}
        if not ok:
            changes |= {"failure_code": "CARD_DECLINED", "failure_message": "Declined."}
        return Move(r.payment, PaymentStatus.PENDING, to, how, None, changes, r.claim_id)

    stale = await Payment.get(id=done.id)
    stale.status = PaymentStatus.PENDING  # as the request that charged it still sees it
    results = await transition_all(
        [
            move(reserved[0], True, "ch_1"),
            move(reserved[1], False, "ch_2"),
            move(reserved[2], True, "ch_3"),
            Move(stale, PaymentStatus.PENDING, PaymentStatus.SUCCEEDED, BillMove.SETTLE, None),
        ]
    )

    assert [r.status if r else None for r in results] == [
        PaymentStatus.SUCCEEDED,
        PaymentStatus.FAILED,
        PaymentStatus.SUCCEEDED,
        None,
    ]
    fresh = {b.id: b for b in await Bill.all()}
    assert (fresh[bill.id].amount_paid, fresh[bill.id].amount_due) == (1_000, 9_000)
    assert (fresh[other.id].amount_paid, fresh[other.id].amount_due) == (7_000, 3_000)
    assert all(b.amount_pending == 0 for b in fresh.values())
    stored = {p.id: p for p in await Payment.all()}
    for r, reference in zip(reserved[:3], ("ch_1", "ch_2", "ch_3"), strict=True):
        assert stored[r.payment.id].processor_reference == reference
        claim = await IdempotencyRecord.get(id=r.claim_id)
        assert claim.response["status"] == stored[r.payment.id].status.value
    assert stored[reserved[1].payment.id].failure_code == "CARD_DECLINED"
    confirmations = await Notification.all().values_list("payment_id", flat=True)
    assert sorted(confirmations) == sorted(
        [reserved[0].payment.id, reserved[2].payment.id, done.id]
    )
    # Each payment's event, then its confirmation's, in order.
    events = await OutboxEvent.filter(id__gt=4).order_by("id").values_list("type", "payment_id")
    paid, failed, other_paid = (r.payment.id for r in reserved[:3])
    assert events == [
        ("PAYMENT_SUCCEEDED", done.id),  # the reconciler's
        ("NOTIFICATION_CREATED", None),
        ("PAYMENT_SUCCEEDED", paid),
        ("NOTIFICATION_CREATED", None),
        ("PAYMENT_FAILED", failed),
        ("PAYMENT_SUCCEEDED", other_paid),
        ("NOTIFICATION_CREATED", None),
    ]
    assert await AuditLog.filter(action__in=["payment.succeeded", "payment.failed"]).count() == 4


async def test_one_ledger_transaction_records_outcomes_and_reserves_new_payments(db: str) -> None:
    jo = await factories.member()
    acct = await factories.account(jo)
    card = await factories.card(jo)
    bill = await factories.bill(acct, due=10_000)
    other = await factories.bill(acct, due=3_000)
    paid, declined = [
        o
        for o in await reserve_all(
            [await _request(jo.id, bill, card.id, x, k) for x, k in ((6_000, "p"), (4_000, "d"))]
        )
        if isinstance(o, Reserved)
    ]
    decline = {"failure_code": "CARD_DECLINED", "failure_message": "Declined."}
    items: list[Work] = [
        Move(paid.payment, PaymentStatus.PENDING, PaymentStatus.SUCCEEDED, BillMove.SETTLE, None),
        # Fits only once the declined payment's 40.00 is due again, earlier in the batch.
        await _request(jo.id, bill, card.id, 3_000, "after-release"),
        Move(
            declined.payment,
            PaymentStatus.PENDING,
            PaymentStatus.FAILED,
            BillMove.RELEASE,
            None,
            decline,
            declined.claim_id,
        ),
        await _request(jo.id, other, card.id, 3_000, "other"),
        await _request(jo.id, other, card.id, 1, "too-much"),
    ]

    done = await record_all(items)

    assert isinstance(done[0], Payment) and done[0].status is PaymentStatus.SUCCEEDED
    assert isinstance(done[2], Payment) and done[2].status is PaymentStatus.FAILED
    assert isinstance(done[1], Reserved) and isinstance(done[3], Reserved)
    assert isinstance(done[4], PaymentError)
    assert done[4].code is PaymentErrorCode.BILL_NOT_PAYABLE
    fresh = {b.id: b for b in await Bill.all()}
    ledger = {b: (x.amount_due, x.amount_pending, x.amount_paid) for b, x in fresh.items()}
    assert ledger == {bill.id: (1_000, 3_000, 6_000), other.id: (0, 3_000, 0)}
    assert await IdempotencyRecord.filter(key="too-much").count() == 0
    events = await OutboxEvent.all().order_by("id").values_list("type", flat=True)
    assert sorted(events[2:]) == sorted(
        ["PAYMENT_SUCCEEDED", "NOTIFICATION_CREATED", "PAYMENT_FAILED"] + ["PAYMENT_CREATED"] * 2
    )


async def test_a_ledger_refusal_rolls_back_the_whole_batch(db: str) -> None:
    jo = await factories.member()
    acct = await factories.account(jo)
    card = await factories.card(jo)
    bill = await factories.bill(acct, due=10_000)
    reserved = [
        o
        for o in await reserve_all(
            [await _request(jo.id, bill, card.id, 1_000, k) for k in ("p", "q")]
        )
        if isinstance(o, Reserved)
    ]
    before = await snapshot()
    broken = reserved[1].payment
    broken.amount = 50_000  # more than the bill has pending: a bug, refused by the guard

    with pytest.raises(LedgerError):
        await transition_all(
            [
                Move(
                    r.payment, PaymentStatus.PENDING, PaymentStatus.SUCCEEDED, BillMove.SETTLE, None
                )
                for r in reserved
            ]
        )

    assert await snapshot() == before


async def test_concurrent_payments_share_transactions_and_each_is_exact(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    jo = await factories.member("jo@example.org")
    acct = await factories.account(jo)
    card = await factories.card(jo)
    declined = await factories.card(jo, token="tok_chargeDeclined")
    bills = [await factories.bill(acct, due=10_000) for _ in range(4)]
    viewer = await load_viewer("jo@example.org", "member")
    assert viewer is not None
    batches: list[tuple[int, int]] = []  # (reservations, moves) of each ledger batch
    original = record_all

    async def counting(items: list[Work]) -> list[Done | Exception]:
        reservations = sum(isinstance(item, Reservation) for item in items)
        batches.append((reservations, len(items) - reservations))
        return await original(items)

    from resolvers import payments

    payments._LEDGER._batch = counting
    try:

        async def attempt(n: int) -> str:
            try:
                paid = await pay_bill(
                    viewer=viewer,
                    bill_id=bills[n % 30 % 4].id,
                    amount=700,
                    method_id=declined.id if n % 5 == 0 else card.id,
                    idempotency_key=f"k{n % 30}",
                )
            except PaymentError as exc:
                return exc.code.value
            return paid.status.value

        with caplog.at_level(logging.WARNING):
            outcomes = await asyncio.gather(*(attempt(n) for n in range(40)))
    finally:
        payments._LEDGER._batch = original

    assert max(r for r, _ in batches) > 1, batches  # reservations shared transactions
    assert max(m for _, m in batches) > 1, batches  # and so did outcomes
    assert "running each on its own" not in caplog.text
    # One payment per key: k0, k5, ... k25 with the declined card.
    assert await Payment.filter(status=PaymentStatus.SUCCEEDED).count() == 24
    assert await Payment.filter(status=PaymentStatus.FAILED).count() == 6
    declines = outcomes.count(PaymentErrorCode.CARD_DECLINED.value)
    assert declines >= 6 and set(outcomes) <= {"SUCCEEDED", "CARD_DECLINED", "PAYMENT_IN_PROGRESS"}
    await assert_ledger()


async def _paid_key(member_id: int, key: str) -> None:
    stamp = datetime(2026, 11, 25, tzinfo=UTC)
    await IdempotencyRecord.create(
        member_id=member_id,
        key=key,
        operation="payBill",
        request_hash="earlier",
        status="COMPLETED",
        response={"payment_id": 0},
        created_at=stamp,
        expires_at=stamp,
    )
