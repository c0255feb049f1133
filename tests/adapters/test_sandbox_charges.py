"""The sandbox processor's charges, alone and concurrent, on both databases: once per key."""

from __future__ import annotations

import asyncio

import pytest
from tortoise.transactions import in_transaction

from adapters.processor import ChargeOutcome, ChargeResult
from adapters.sandbox import SandboxProcessor
from models import SandboxCharge


async def _charge(key: str, token: str = "tok_visa", amount: int = 500) -> ChargeResult:
    return await SandboxProcessor().charge(
        idempotency_key=key, token=token, amount=amount, currency="USD"
    )


async def test_concurrent_charges_each_get_their_own_answer(db: str) -> None:
    tokens = ["tok_visa", "tok_chargeDeclined", "btok_abc", "tok_unknown"] * 5
    results = await asyncio.gather(*(_charge(f"k{n}", t) for n, t in enumerate(tokens)))

    outcomes = [r.outcome for r in results]
    assert (
        outcomes
        == [
            ChargeOutcome.SUCCEEDED,
            ChargeOutcome.DECLINED,
            ChargeOutcome.PROCESSING,
            ChargeOutcome.DECLINED,
        ]
        * 5
    )
    rows = {row.idempotency_key: row for row in await SandboxCharge.all()}
    assert len(rows) == 20
    assert all(rows[f"k{n}"].reference == r.reference for n, r in enumerate(results))


async def test_one_key_sent_at_once_and_again_later_charges_once(db: str) -> None:
    together = await asyncio.gather(*(_charge("same") for _ in range(6)))
    later = await _charge("same")

    assert len({r.reference for r in [*together, later]}) == 1
    assert await SandboxCharge.all().count() == 1


async def test_a_key_reused_with_another_amount_is_refused_alone(db: str) -> None:
    await _charge("first", amount=500)

    results = await asyncio.gather(
        _charge("first", amount=999), _charge("second"), return_exceptions=True
    )

    assert isinstance(results[0], RuntimeError)
    assert "reused with other parameters" in str(results[0])
    assert isinstance(results[1], ChargeResult) and results[1].outcome is ChargeOutcome.SUCCEEDED
    assert (await SandboxCharge.get(idempotency_key="first")).amount == 500


async def test_the_sandbox_refuses_to_run_inside_a_transaction(db: str) -> None:
    with pytest.raises(RuntimeError, match="inside a database transaction"):
        async with in_transaction():
            await _charge("inside")
    assert await SandboxCharge.all().count() == 0
