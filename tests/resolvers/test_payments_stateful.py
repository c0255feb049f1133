"""Stateful: random sequences of payments, declines, ACH settlements and returns, cancels
and refunds keep DESIGN.md's ledger invariants after every step, and match a model."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from adapters.clock import FixedClock, set_clock
from models import Bill, Payment
from models.enums import BankAccountType, PaymentErrorCode, PaymentStatus
from resolvers.access import Viewer, load_viewer
from resolvers.cancellation import cancel_payment
from resolvers.payment_errors import PaymentError
from resolvers.payment_methods import BankAccount, add_bank_account
from resolvers.payments import pay_bill
from resolvers.refunds import refund_payment
from resolvers.settlement import reconcile, settle_due
from tests import factories
from tests.db import truncate_all
from tests.ledger import assert_ledger, snapshot

T = TypeVar("T")
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
DUES = (10_000, 4_999)
METHODS = ("visa", "declined", "ach", "ach_return")


@dataclass
class Modelled:
    bill: int
    amount: int
    method: str
    status: PaymentStatus
    refunded: int = 0


@pytest.fixture
async def loop(db: str) -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def machine(loop: asyncio.AbstractEventLoop) -> type[RuleBasedStateMachine]:
    def run(coro: Awaitable[T]) -> T:
        return loop.run_until_complete(coro)  # type: ignore[arg-type]

    class Ledger(RuleBasedStateMachine):
        @initialize()
        def household(self) -> None:
            self.clock = FixedClock(START)
            set_clock(self.clock)
            self.payments: list[Modelled] = []
            self.ids: list[int] = []
            self.keys = 0
            run(self._setup())

        async def _setup(self) -> None:
            await truncate_all()
            alex = await factories.member("alex@example.org")
            await factories.member("billing@example.org", staff=True)
            acct = await factories.account(alex)
            self.bills = [(await factories.bill(acct, due=due)).id for due in DUES]
            member = await load_viewer("alex@example.org", "member")
            staff = await load_viewer("billing@example.org", "staff")
            assert member is not None and staff is not None
            self.member: Viewer = member
            self.staff: Viewer = staff
            self.methods = {
                "visa": (await factories.card(alex)).id,
                "declined": (await factories.card(alex, token="tok_chargeDeclined")).id,
            }
            for name, number in (("ach", "000123456789"), ("ach_return", "000111111116")):
                bank = BankAccount("110000000", number, BankAccountType.CHECKING, "Alex Rivera")
                self.methods[name] = (await add_bank_account(viewer=member, account=bank)).id

        def _due(self, bill: int) -> int:
            counted = (PaymentStatus.RETURNED, PaymentStatus.FAILED, PaymentStatus.CANCELED)
            taken = sum(
                p.amount - p.refunded
                for p in self.payments
                if p.bill == bill and p.status not in counted
            )
            return DUES[bill] - taken

        def _refused(self, action: Awaitable[Any], code: PaymentErrorCode) -> None:
            async def attempt() -> None:
                before = await snapshot()
                with pytest.raises(PaymentError) as caught:
                    await action
                assert caught.value.code is code
                assert await snapshot() == before

            run(attempt())

        def _key(self) -> str:
            self.keys += 1
            return f"key-{self.keys}"

        def _pay(self, bill: int, method: str, cents: int) -> None:
            due = self._due(bill)
            action = pay_bill(
                viewer=self.member,
                bill_id=self.bills[bill],
                amount=cents,
                method_id=self.methods[method],
                idempotency_key=self._key(),
            )
            if due == 0:
                return self._refused(action, PaymentErrorCode.BILL_NOT_PAYABLE)
            if cents > due:
                return self._refused(action, PaymentErrorCode.AMOUNT_EXCEEDS_BALANCE)
            if method == "declined":
                with pytest.raises(PaymentError) as caught:
                    run(action)
                assert caught.value.code is PaymentErrorCode.CARD_DECLINED
                assert caught.value.payment is not None
                payment_id, status = caught.value.payment.id, PaymentStatus.FAILED
            else:
                payment = run(action)
                payment_id, status = payment.id, payment.status
                want = PaymentStatus.SUCCEEDED if method == "visa" else PaymentStatus.PROCESSING
                assert status is want
            self.ids.append(payment_id)
            self.payments.append(Modelled(bill, cents, method, status))
            return None

        @rule(bill=st.integers(0, 1), method=st.sampled_from(METHODS), cents=st.integers(1, 6_000))
        def partial_pay(self, bill: int, method: str, cents: int) -> None:
            self._pay(bill, method, cents)

        @rule(bill=st.integers(0, 1), method=st.sampled_from(METHODS))
        def pay_in_full(self, bill: int, method: str) -> None:
            self._pay(bill, method, max(self._due(bill), 1))

        @rule(days=st.integers(1, 4))
        def ach_settlement(self, days: int) -> None:
            self.clock.advance(timedelta(days=days))
            run(settle_due(self.clock.now()))
            for index, modelled in enumerate(self.payments):
                if modelled.status is PaymentStatus.PROCESSING:
                    row = run(Payment.get(id=self.ids[index]))
                    assert row.settle_after is not None
                    if row.settle_after <= self.clock.now():
                        returns = modelled.method == "ach_return"
                        modelled.status = (
                            PaymentStatus.RETURNED if returns else PaymentStatus.SUCCEEDED
                        )

        @rule(pick=st.integers(0, 40))
        def cancel(self, pick: int) -> None:
            if not self.payments:
                return
            index = pick % len(self.payments)
            modelled = self.payments[index]
            action = cancel_payment(
                viewer=self.member, payment_id=self.ids[index], idempotency_key=self._key()
            )
            if modelled.status is not PaymentStatus.PROCESSING:
                return self._refused(action, PaymentErrorCode.PAYMENT_NOT_CANCELABLE)
            assert run(action).status is PaymentStatus.CANCELED
            modelled.status = PaymentStatus.CANCELED
            return None

        @rule(pick=st.integers(0, 40), cents=st.none() | st.integers(1, 7_000))
        def refund(self, pick: int, cents: int | None) -> None:
            if not self.payments:
                return
            index = pick % len(self.payments)
            modelled = self.payments[index]
            amount = None if cents is None else Decimal(cents) / 100
            action = refund_payment(
                viewer=self.staff,
                payment_id=self.ids[index],
                amount=amount,
                reason=None,
                idempotency_key=self._key(),
            )
            left = modelled.amount - modelled.refunded
            if modelled.status is not PaymentStatus.SUCCEEDED:
                return self._refused(action, PaymentErrorCode.PAYMENT_NOT_REFUNDABLE)
            if cents is not None and cents > left:
                return self._refused(action, PaymentErrorCode.REFUND_EXCEEDS_PAYMENT)
            run(action)
            modelled.refunded += left if cents is None else cents
            if modelled.refunded == modelled.amount:
                modelled.status = PaymentStatus.REFUNDED
            return None

        @rule()
        def reconciler(self) -> None:
            report = run(reconcile(self.clock.now() + timedelta(hours=1)))
            assert report.payments == {} and report.unreachable == []

        @invariant()
        def ledger_holds(self) -> None:
            if not hasattr(self, "bills"):
                return
            run(assert_ledger())
            for index, bill_id in enumerate(self.bills):
                assert run(Bill.get(id=bill_id)).amount_due == self._due(index)
            for payment_id, modelled in zip(self.ids, self.payments, strict=True):
                row = run(Payment.get(id=payment_id))
                assert (row.status, row.amount_refunded) == (modelled.status, modelled.refunded)

    return Ledger


def test_the_ledger_holds_after_every_step(loop: asyncio.AbstractEventLoop) -> None:
    run_state_machine_as_test(
        machine(loop),
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
