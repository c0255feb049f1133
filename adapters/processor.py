"""The payment processor behind a small interface; the sandbox processor is the default."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ChargeOutcome(StrEnum):
    """What the processor said about a charge."""

    SUCCEEDED = "SUCCEEDED"  # captured (cards)
    PROCESSING = "PROCESSING"  # accepted, settles later (ACH)
    DECLINED = "DECLINED"  # refused for good; `error_code` says why


@dataclass(frozen=True)
class ChargeResult:
    """The processor's answer to a charge; the same key always gets the same answer."""

    outcome: ChargeOutcome
    reference: str
    error_code: str | None = None  # a PaymentErrorCode value when declined
    message: str | None = None


class SettlementOutcome(StrEnum):
    """Where an ACH debit stands at the processor."""

    PENDING = "PENDING"
    SETTLED = "SETTLED"
    RETURNED = "RETURNED"
    CANCELED = "CANCELED"


@dataclass(frozen=True)
class SettlementResult:
    """An ACH debit's state; `return_code` is the NACHA code (e.g. R01) when returned."""

    outcome: SettlementOutcome
    return_code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class RefundResult:
    """A refund the processor accepted."""

    reference: str


@dataclass(frozen=True)
class CardDetails:
    """What a card token stands for, as a person may see it."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class BankAccountToken:
    """A bank account the processor tokenised; only the last four digits come back."""

    token: str
    last4: str
    bank_name: str | None


class ProcessorUnavailable(Exception):
    """The processor could not be reached or did not answer: the outcome is unknown."""


class Processor(Protocol):
    """A payment processor. Calls are never made inside a database transaction."""

    async def charge(
        self, *, idempotency_key: str, token: str, amount: int, currency: str
    ) -> ChargeResult:
        """Charge a card or debit a bank account, at most once per idempotency key."""
        ...

    async def settlement(self, *, reference: str) -> SettlementResult:
        """Where an ACH debit stands."""
        ...

    async def cancel(self, *, reference: str) -> bool:
        """Stop an ACH debit before it settles; False if it is too late."""
        ...

    async def refund(
        self, *, idempotency_key: str, reference: str, amount: int, currency: str
    ) -> RefundResult:
        """Give money back on a charge, at most once per idempotency key."""
        ...

    async def card_details(self, token: str) -> CardDetails | None:
        """The card behind a token, or None if the token is unknown."""
        ...

    async def tokenize_bank_account(
        self, *, routing_number: str, account_number: str, account_type: str, holder_name: str
    ) -> BankAccountToken:
        """Exchange bank account details for a token (the full number stays with the processor)."""
        ...


_processor: Processor | None = None


def get_processor() -> Processor:
    """The processor the service uses (the sandbox unless another was set)."""
    global _processor
    if _processor is None:
        from adapters.sandbox import SandboxProcessor

        _processor = SandboxProcessor()
    return _processor


def set_processor(processor: Processor | None) -> None:
    """Swap the processor (tests, other deployments); None restores the sandbox."""
    global _processor
    _processor = processor
