"""The sandbox processor: test tokens as in the best-known processors' test modes.

Its ledger is the SandboxCharge table, keyed by the idempotency key we send, so a
retry with the same key returns the first answer and never charges twice. It writes
in its own short statements (concurrent charges share one) and refuses to run inside a
caller's transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import IntegrityError

from adapters.clock import now
from adapters.processor import (
    BankAccountToken,
    CardDetails,
    ChargeOutcome,
    ChargeResult,
    RefundResult,
    SettlementOutcome,
    SettlementResult,
)
from models.bulk_insert import insert_many
from models.db import is_transient_conflict
from models.group_commit import GroupCommit
from models.payments import SandboxCharge
from models.unsaved import unsaved

# token -> (brand, last4, decline code or None)
CARDS: dict[str, tuple[str, str, str | None]] = {
    "tok_visa": ("visa", "4242", None),
    "tok_mastercard": ("mastercard", "4444", None),
    "tok_amex": ("amex", "8431", None),
    "tok_visa_hsa": ("visa", "5556", None),
    "tok_chargeDeclined": ("visa", "0002", "CARD_DECLINED"),
    "tok_chargeDeclinedInsufficientFunds": ("visa", "9995", "INSUFFICIENT_FUNDS"),
    "tok_chargeDeclinedExpiredCard": ("visa", "0069", "PAYMENT_METHOD_EXPIRED"),
    "tok_processingError": ("visa", "0119", "PROCESSOR_UNAVAILABLE"),
}
DECLINE_MESSAGES = {
    "CARD_DECLINED": "Your card was declined.",
    "INSUFFICIENT_FUNDS": "Your card has insufficient funds.",
    "PAYMENT_METHOD_EXPIRED": "Your card has expired.",
    "PROCESSOR_UNAVAILABLE": "An error occurred while processing your card. Try again later.",
}
TEST_ROUTING_NUMBER = "110000000"
RETURNED_ACCOUNT = "000111111116"  # returned R01 (insufficient funds) at settlement
_BANK_PREFIX = "btok_"
_RETURNS_PREFIX = "btok_r01_"
_REFUND_PREFIX = "refund:"


def _outside_transaction() -> None:
    if isinstance(connections.get("default"), TransactionalDBClient):
        raise RuntimeError("the processor must not be called inside a database transaction")


class SandboxProcessor:
    """The embedded default processor (see DESIGN.md, "Sandbox payment processor")."""

    async def charge(
        self, *, idempotency_key: str, token: str, amount: int, currency: str
    ) -> ChargeResult:
        """Charge once per key; a repeated key returns the first outcome."""
        _outside_transaction()
        row = await _CHARGES.submit(_Charge(idempotency_key, token, amount, currency))
        return _charge_result(row)

    async def settlement(self, *, reference: str) -> SettlementResult:
        """Settle or return a pending ACH debit the first time it is asked about."""
        _outside_transaction()
        row = await SandboxCharge.get(reference=reference)
        if row.outcome == SettlementOutcome.PENDING.value:
            decided = "RETURNED:R01" if row.token.startswith(_RETURNS_PREFIX) else "SETTLED"
            await SandboxCharge.filter(id=row.id, outcome=row.outcome).update(outcome=decided)
            row = await SandboxCharge.get(id=row.id)
        outcome, _, code = row.outcome.partition(":")
        if outcome == SettlementOutcome.RETURNED.value:
            return SettlementResult(SettlementOutcome.RETURNED, code, "Insufficient funds (R01).")
        return SettlementResult(SettlementOutcome(outcome))

    async def cancel(self, *, reference: str) -> bool:
        """Cancel a pending ACH debit; True if it is (or already was) canceled."""
        _outside_transaction()
        pending = SettlementOutcome.PENDING.value
        canceled = SettlementOutcome.CANCELED.value
        await SandboxCharge.filter(reference=reference, outcome=pending).update(outcome=canceled)
        row = await SandboxCharge.get_or_none(reference=reference)
        return row is not None and row.outcome == canceled

    async def refund(
        self, *, idempotency_key: str, reference: str, amount: int, currency: str
    ) -> RefundResult:
        """Refund once per key; a repeated key returns the first refund."""
        _outside_transaction()
        try:
            row = await SandboxCharge.create(
                idempotency_key=idempotency_key,
                token=_REFUND_PREFIX + reference,
                amount=amount,
                currency=currency,
                outcome="REFUNDED",
                reference="re_" + secrets.token_hex(12),
                created_at=now(),
            )
        except IntegrityError:
            row = await SandboxCharge.get(idempotency_key=idempotency_key)
        return RefundResult(reference=row.reference)

    async def card_details(self, token: str) -> CardDetails | None:
        """The test card behind a token, expiring four years from now."""
        card = CARDS.get(token)
        if card is None:
            return None
        return CardDetails(brand=card[0], last4=card[1], exp_month=12, exp_year=now().year + 4)

    async def tokenize_bank_account(
        self, *, routing_number: str, account_number: str, account_type: str, holder_name: str
    ) -> BankAccountToken:
        """A bank token; the sandbox's returning test account gets a token that returns R01."""
        prefix = _RETURNS_PREFIX if account_number == RETURNED_ACCOUNT else _BANK_PREFIX
        bank = "Sandbox Test Bank" if routing_number == TEST_ROUTING_NUMBER else None
        return BankAccountToken(
            token=prefix + secrets.token_hex(12), last4=account_number[-4:], bank_name=bank
        )


@dataclass(frozen=True)
class _Charge:
    key: str
    token: str
    amount: int
    currency: str


async def _record_charges(charges: Sequence[_Charge]) -> list[SandboxCharge | Exception]:
    """Concurrent charges go into the sandbox's ledger in one INSERT; a key it already
    holds keeps its first row (and answer), and must come with the same parameters."""
    stamp = now()
    new: dict[str, SandboxCharge] = {}
    for charge in charges:
        if charge.key not in new:
            if charge.token.startswith(_BANK_PREFIX):
                outcome, prefix = SettlementOutcome.PENDING.value, "py_"
            else:
                card = CARDS.get(charge.token)
                outcome = "CARD_DECLINED" if card is None else (card[2] or "SUCCEEDED")
                prefix = "ch_"
            new[charge.key] = unsaved(
                SandboxCharge,
                idempotency_key=charge.key,
                token=charge.token,
                amount=charge.amount,
                currency=charge.currency,
                outcome=outcome,
                reference=prefix + secrets.token_hex(12),
                created_at=stamp,
            )
    conn = connections.get("default")
    rows = list(new.values())
    inserted = await insert_many(conn, rows, unique=("idempotency_key",), skip_conflicts=True)
    by_key = {row.idempotency_key: row for row in inserted}
    if missing := [key for key in new if key not in by_key]:
        earlier = await SandboxCharge.filter(idempotency_key__in=missing)
        by_key |= {row.idempotency_key: row for row in earlier}
    outcomes: list[SandboxCharge | Exception] = []
    for charge in charges:
        row = by_key[charge.key]
        if (row.token, row.amount, row.currency) == (charge.token, charge.amount, charge.currency):
            outcomes.append(row)
        else:
            outcomes.append(RuntimeError("idempotency key reused with other parameters"))
    return outcomes


_CHARGES = GroupCommit("sandbox charges", _record_charges, retry_if=is_transient_conflict)


def _charge_result(row: SandboxCharge) -> ChargeResult:
    if row.outcome == "SUCCEEDED":
        return ChargeResult(ChargeOutcome.SUCCEEDED, row.reference)
    if row.token.startswith(_BANK_PREFIX):
        # An ACH debit stays "processing" to the caller until settlement is asked about.
        return ChargeResult(ChargeOutcome.PROCESSING, row.reference)
    return ChargeResult(
        ChargeOutcome.DECLINED,
        row.reference,
        error_code=row.outcome,
        message=DECLINE_MESSAGES.get(row.outcome, "Your card was declined."),
    )
