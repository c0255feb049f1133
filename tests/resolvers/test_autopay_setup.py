"""Enrolling in autopay, changing it and cancelling it, with a clear code for every refusal."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from adapters.clock import FixedClock, set_clock
from models import AuditLog, AutopayCharge, AutopayEnrollment, PaymentMethod
from models.db import sqlite_file
from models.enums import (
    AccessRole,
    AutopayChargeStatus,
    AutopayErrorCode,
    AutopayStatus,
    AutopayStrategy,
    PaymentMethodStatus,
)
from resolvers import autopay_setup, notices
from resolvers.access import Viewer, load_viewer
from resolvers.autopay_claims import claim
from resolvers.autopay_plan import due_now
from resolvers.autopay_report import AutopayReport
from resolvers.autopay_setup import AutopayError, cancel_autopay, setup_autopay
from resolvers.payment_methods import remove_payment_method
from tests import factories


async def viewer_of(email: str) -> Viewer:
    found = await load_viewer(email, "member")
    assert found is not None
    return found


async def statement_balance(
    viewer: Viewer, account_id: int, method_id: int, **terms: Any
) -> AutopayEnrollment:
    """setup_autopay paying each statement's balance, with `terms` on top."""
    return await setup_autopay(
        viewer=viewer,
        account_id=account_id,
        method_id=method_id,
        strategy=AutopayStrategy.STATEMENT_BALANCE,
        **terms,
    )


async def snapshot() -> list[Any]:
    """Everything a refused change must leave as it was."""
    rows = await AutopayEnrollment.all().order_by("id").values()
    return [rows, await AuditLog.all().count()]


@pytest.fixture
async def household(db: str) -> dict[str, Any]:
    set_clock(FixedClock(datetime(2026, 12, 1, 9, tzinfo=UTC)))
    alex = await factories.member("alex@example.org")
    sam = await factories.member("sam@example.org")
    viv = await factories.member("viv@example.org")
    acct = await factories.account(alex)
    await factories.grant(sam, acct, AccessRole.PROXY_PAY)
    await factories.grant(viv, acct, AccessRole.PROXY_VIEW)
    return {
        "acct": acct,
        "alex_card": await factories.card(alex, token="tok_mastercard"),
        "sam_card": await factories.card(sam),
        "viv_card": await factories.card(viv),
    }


async def test_setup_enrols_the_account(household: dict[str, Any]) -> None:
    alex = await viewer_of("alex@example.org")

    enrollment = await setup_autopay(
        viewer=alex,
        account_id=household["acct"].id,
        method_id=household["alex_card"].id,
        strategy=AutopayStrategy.STATEMENT_BALANCE,
        max_amount=Decimal("250.00"),
        days_before_due=5,
    )

    stored = await AutopayEnrollment.get(account_id=household["acct"].id)
    assert stored.id == enrollment.id
    assert (stored.status, stored.member_id, stored.method_id) == (
        AutopayStatus.ACTIVE,
        alex.member.id,
        household["alex_card"].id,
    )
    assert (stored.max_amount, stored.days_before_due, stored.fixed_amount) == (25_000, 5, None)
    assert await AuditLog.filter(action="autopay.setup", entity_id=stored.id).exists()


async def test_setting_up_again_changes_it_and_reactivates_a_suspended_one(
    household: dict[str, Any],
) -> None:
    alex = await viewer_of("alex@example.org")
    acct, card = household["acct"], household["alex_card"]
    first = await setup_autopay(
        viewer=alex, account_id=acct.id, method_id=card.id, strategy=AutopayStrategy.MINIMUM_DUE
    )
    await AutopayEnrollment.filter(id=first.id).update(
        status=AutopayStatus.SUSPENDED, consecutive_failures=3
    )

    changed = await setup_autopay(
        viewer=alex,
        account_id=acct.id,
        method_id=card.id,
        strategy=AutopayStrategy.FIXED_AMOUNT,
        fixed_amount=Decimal("40"),
        days_before_due=0,
    )

    assert changed.id == first.id
    stored = await AutopayEnrollment.get(id=first.id)
    assert (stored.status, stored.consecutive_failures) == (AutopayStatus.ACTIVE, 0)
    assert (stored.strategy, stored.fixed_amount, stored.days_before_due) == (
        AutopayStrategy.FIXED_AMOUNT,
        4_000,
        0,
    )
    assert await AutopayEnrollment.all().count() == 1


REFUSALS = [
    ("viv@example.org", "viv_card", {}, AutopayErrorCode.NOT_ALLOWED, ["accountId"]),
    ("alex@example.org", "sam_card", {}, AutopayErrorCode.PAYMENT_METHOD_NOT_FOUND, None),
    (
        "alex@example.org",
        "alex_card",
        {"strategy": AutopayStrategy.FIXED_AMOUNT},
        AutopayErrorCode.INVALID_AMOUNT,
        ["fixedAmount"],
    ),
    (
        "alex@example.org",
        "alex_card",
        {"strategy": AutopayStrategy.FIXED_AMOUNT, "fixed_amount": Decimal("10.001")},
        AutopayErrorCode.INVALID_AMOUNT,
        ["fixedAmount"],
    ),
    (
        "alex@example.org",
        "alex_card",
        {"fixed_amount": Decimal("10")},
        AutopayErrorCode.INVALID_INPUT,
        ["fixedAmount"],
    ),
    (
        "alex@example.org",
        "alex_card",
        {"max_amount": Decimal("0")},
        AutopayErrorCode.INVALID_AMOUNT,
        ["maxAmount"],
    ),
    (
        "alex@example.org",
        "alex_card",
        {
            "strategy": AutopayStrategy.FIXED_AMOUNT,
            "fixed_amount": Decimal("100"),
            "max_amount": Decimal("50"),
        },
        AutopayErrorCode.INVALID_AMOUNT,
        ["maxAmount"],
    ),
    (
        "alex@example.org",
        "alex_card",
        {"days_before_due": 21},
        AutopayErrorCode.INVALID_INPUT,
        ["daysBeforeDue"],
    ),
]


@pytest.mark.parametrize(("email", "card", "extra", "code", "field"), REFUSALS)
async def test_refusals_have_a_code_and_change_nothing(
    household: dict[str, Any],
    email: str,
    card: str,
    extra: dict[str, Any],
    code: AutopayErrorCode,
    field: list[str] | None,
) -> None:
    before = await snapshot()
    arguments: dict[str, Any] = {"strategy": AutopayStrategy.STATEMENT_BALANCE, **extra}

    with pytest.raises(AutopayError) as refused:
        await setup_autopay(
            viewer=await viewer_of(email),
            account_id=household["acct"].id,
            method_id=household[card].id,
            **arguments,
        )

    assert refused.value.code is code
    assert field is None or refused.value.field == field
    assert await snapshot() == before


async def test_an_account_the_member_cannot_see_is_not_found(household: dict[str, Any]) -> None:
    stranger = await factories.member("stranger@example.org")
    card = await factories.card(stranger)
    before = await snapshot()

    with pytest.raises(AutopayError) as refused:
        await setup_autopay(
            viewer=await viewer_of("stranger@example.org"),
            account_id=household["acct"].id,
            method_id=card.id,
            strategy=AutopayStrategy.STATEMENT_BALANCE,
        )

    assert refused.value.code is AutopayErrorCode.ACCOUNT_NOT_FOUND
    assert await snapshot() == before


async def test_an_expired_or_removed_method_is_refused(household: dict[str, Any]) -> None:
    alex = await viewer_of("alex@example.org")
    card = household["alex_card"]
    before = await snapshot()
    await PaymentMethod.filter(id=card.id).update(exp_year=2026, exp_month=11)

    with pytest.raises(AutopayError) as expired:
        await setup_autopay(
            viewer=alex,
            account_id=household["acct"].id,
            method_id=card.id,
            strategy=AutopayStrategy.MINIMUM_DUE,
        )
    await PaymentMethod.filter(id=card.id).update(status=PaymentMethodStatus.REMOVED)
    with pytest.raises(AutopayError) as removed:
        await setup_autopay(
            viewer=alex,
            account_id=household["acct"].id,
            method_id=card.id,
            strategy=AutopayStrategy.MINIMUM_DUE,
        )

    assert expired.value.code is AutopayErrorCode.PAYMENT_METHOD_EXPIRED
    assert removed.value.code is AutopayErrorCode.PAYMENT_METHOD_NOT_FOUND
    assert await snapshot() == before


async def test_only_its_owner_changes_an_enrollment_until_it_is_cancelled(
    household: dict[str, Any],
) -> None:
    acct = household["acct"]
    sam = await viewer_of("sam@example.org")
    alex = await viewer_of("alex@example.org")
    await setup_autopay(
        viewer=alex,
        account_id=acct.id,
        method_id=household["alex_card"].id,
        strategy=AutopayStrategy.STATEMENT_BALANCE,
    )
    before = await snapshot()

    with pytest.raises(AutopayError) as refused:
        await setup_autopay(
            viewer=sam,
            account_id=acct.id,
            method_id=household["sam_card"].id,
            strategy=AutopayStrategy.STATEMENT_BALANCE,
        )
    assert refused.value.code is AutopayErrorCode.NOT_ALLOWED
    assert await snapshot() == before

    with pytest.raises(AutopayError) as not_theirs:
        await cancel_autopay(viewer=sam, account_id=acct.id)
    assert not_theirs.value.code is AutopayErrorCode.NOT_ALLOWED
    assert await snapshot() == before

    canceled = await cancel_autopay(viewer=alex, account_id=acct.id)
    assert canceled.status is AutopayStatus.CANCELED and canceled.canceled_at is not None
    with pytest.raises(AutopayError) as twice:
        await cancel_autopay(viewer=alex, account_id=acct.id)
    assert twice.value.code is AutopayErrorCode.ENROLLMENT_NOT_FOUND

    taken_over = await setup_autopay(
        viewer=sam,
        account_id=acct.id,
        method_id=household["sam_card"].id,
        strategy=AutopayStrategy.STATEMENT_BALANCE,
    )
    assert (taken_over.member_id, taken_over.status) == (sam.member.id, AutopayStatus.ACTIVE)
    assert taken_over.canceled_at is None


async def test_the_guarantor_may_cancel_a_proxys_enrollment(household: dict[str, Any]) -> None:
    acct = household["acct"]
    await setup_autopay(
        viewer=await viewer_of("sam@example.org"),
        account_id=acct.id,
        method_id=household["sam_card"].id,
        strategy=AutopayStrategy.STATEMENT_BALANCE,
    )

    canceled = await cancel_autopay(viewer=await viewer_of("alex@example.org"), account_id=acct.id)

    assert canceled.status is AutopayStatus.CANCELED
    assert await AuditLog.filter(action="autopay.cancel").count() == 1


async def test_a_change_or_cancellation_waits_while_a_charge_is_being_made(
    household: dict[str, Any],
) -> None:
    alex = await viewer_of("alex@example.org")
    acct, card = household["acct"], household["alex_card"]
    enrollment = await setup_autopay(
        viewer=alex,
        account_id=acct.id,
        method_id=card.id,
        strategy=AutopayStrategy.STATEMENT_BALANCE,
    )
    bill = await factories.bill(acct, due_date=date(2026, 12, 10))
    stamp = datetime(2026, 12, 7, tzinfo=UTC)
    await AutopayCharge.create(
        enrollment=enrollment,
        bill=bill,
        cycle_date=date(2026, 12, 7),
        status=AutopayChargeStatus.CLAIMED,
        amount=10_000,
        created_at=stamp,
        updated_at=stamp,
    )
    before = await snapshot()

    with pytest.raises(AutopayError) as refused:
        await setup_autopay(
            viewer=alex,
            account_id=acct.id,
            method_id=card.id,
            strategy=AutopayStrategy.STATEMENT_BALANCE,
            days_before_due=1,
        )

    assert refused.value.code is AutopayErrorCode.CHARGE_IN_PROGRESS
    assert await snapshot() == before
    with pytest.raises(AutopayError) as refused:
        await cancel_autopay(viewer=alex, account_id=acct.id)
    assert refused.value.code is AutopayErrorCode.CHARGE_IN_PROGRESS
    assert await snapshot() == before


async def test_a_method_removed_while_autopay_is_set_up_is_refused(
    household: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    alex = await viewer_of("alex@example.org")
    acct, card = household["acct"], household["alex_card"]
    checked = autopay_setup._usable_method

    async def removed_from_another_tab(viewer: Viewer, method_id: int) -> PaymentMethod:
        method = await checked(viewer, method_id)
        await remove_payment_method(viewer=viewer, method_id=method_id)
        return method

    monkeypatch.setattr(autopay_setup, "_usable_method", removed_from_another_tab)
    with pytest.raises(AutopayError) as refused:
        await statement_balance(alex, acct.id, card.id)

    assert refused.value.code is AutopayErrorCode.PAYMENT_METHOD_NOT_FOUND
    assert not await AutopayEnrollment.exists()


async def test_one_members_setups_at_once_both_apply(household: dict[str, Any]) -> None:
    alex = await viewer_of("alex@example.org")
    acct, card = household["acct"], household["alex_card"]

    async def setup(days: int) -> AutopayEnrollment:
        return await statement_balance(alex, acct.id, card.id, days_before_due=days)

    for _ in range(5):
        first, second = await asyncio.gather(setup(2), setup(4))
        assert first.id == second.id
        assert (await AutopayEnrollment.get(id=first.id)).days_before_due in (2, 4)
        await AutopayEnrollment.all().delete()


async def test_a_setup_does_not_deadlock_with_a_claim_that_writes_a_notice(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The claim locks the enrollment, then inserts a notice for the member (its foreign
    # key check shares the member's row); setup locks the member, then the enrollment.
    set_clock(FixedClock(datetime(2026, 12, 7, 9, tzinfo=UTC)))
    jordan = await factories.member()
    acct = await factories.account(jordan)
    card = await factories.card(jordan)
    enrollment = await factories.autopay(jordan, acct, card)
    await factories.bill(acct, due_date=date(2026, 12, 10))
    (planned,) = await due_now(enrollment, date(2026, 12, 7))
    claiming = asyncio.Event()
    write_once = notices.write_once

    async def slowly(conn: Any, notice: Any) -> Any:
        claiming.set()  # the claim holds the enrollment's row from here
        await asyncio.sleep(0.3)
        return await write_once(conn, notice)

    async def set_up_meanwhile() -> AutopayEnrollment:
        await claiming.wait()
        return await statement_balance(await viewer_of(jordan.email), acct.id, card.id)

    monkeypatch.setattr(notices, "write_once", slowly)
    claimed, setup = await asyncio.gather(
        claim(enrollment, planned, AutopayReport()), set_up_meanwhile(), return_exceptions=True
    )

    assert isinstance(claimed, AutopayCharge)
    assert isinstance(setup, AutopayError) and setup.code is AutopayErrorCode.CHARGE_IN_PROGRESS


async def test_setup_holds_the_member_lock_from_its_first_statement(
    household: dict[str, Any], db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process (a second worker, the CLI scheduler) writing between a read and the
    # first write would make that write fail at once on SQLite ("database is locked").
    path = sqlite_file(db)
    others: list[str] = []
    still_there = autopay_setup._still_there

    async def another_process_writes(conn: Any, method: PaymentMethod) -> bool:
        others.append(await _write_elsewhere(db, path, method.member_id))
        return await still_there(conn, method)

    monkeypatch.setattr(autopay_setup, "_still_there", another_process_writes)
    alex = await viewer_of("alex@example.org")
    await statement_balance(alex, household["acct"].id, household["alex_card"].id)

    assert others == ["locked"]


async def _write_elsewhere(url: str, path: Path | None, member_id: int) -> str:
    """Try, without waiting, to change the member's row over a connection of its own."""
    if path is not None:
        with closing(sqlite3.connect(path, timeout=0)) as other:
            try:
                other.execute("UPDATE member SET name = 'Other' WHERE id = ?", (member_id,))
                other.commit()
            except sqlite3.OperationalError:
                return "locked"
            return "wrote"
    other = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await other.execute("SET lock_timeout = '1ms'")
        await other.execute("UPDATE member SET name = 'Other' WHERE id = $1", member_id)
    except asyncpg.LockNotAvailableError:
        return "locked"
    finally:
        await other.close()
    return "wrote"
