"""Saving, removing and defaulting payment methods; card numbers never get in."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from models import AutopayEnrollment, PaymentMethod
from models.enums import (
    AutopayStrategy,
    BankAccountType,
    PaymentMethodErrorCode,
    PaymentMethodKind,
    PaymentMethodStatus,
)
from resolvers.access import Viewer, load_viewer
from resolvers.payment_errors import PaymentMethodError
from resolvers.payment_methods import (
    BankAccount,
    add_bank_account,
    add_card,
    remove_payment_method,
    set_default_payment_method,
)
from tests import factories
from tests.ledger import snapshot

SETTLES = BankAccount("110000000", "000123456789", BankAccountType.CHECKING, "Alex Rivera")


async def _alex() -> Viewer:
    await factories.member("alex@example.org")
    viewer = await load_viewer("alex@example.org", "member")
    assert viewer is not None
    return viewer


async def test_a_card_is_saved_from_its_token_and_becomes_the_default(db: str) -> None:
    viewer = await _alex()
    card = await add_card(viewer=viewer, token="tok_mastercard", nickname="Work")
    hsa = await add_card(viewer=viewer, token="tok_visa_hsa", kind=PaymentMethodKind.HSA_FSA_CARD)

    assert (card.brand, card.last4, card.is_default, card.nickname) == (
        "mastercard",
        "4444",
        True,
        "Work",
    )
    assert hsa.kind is PaymentMethodKind.HSA_FSA_CARD and not hsa.is_default


async def test_a_bank_account_keeps_only_its_last_four_digits(db: str) -> None:
    viewer = await _alex()
    method = await add_bank_account(viewer=viewer, account=SETTLES, make_default=True)
    stored = await PaymentMethod.get(id=method.id)
    assert (stored.kind, stored.last4, stored.bank_name) == (
        PaymentMethodKind.ACH,
        "6789",
        "Sandbox Test Bank",
    )
    assert "000123456789" not in str(await snapshot())


@pytest.mark.parametrize(
    ("account", "code"),
    [
        (
            BankAccount("110000001", "000123456789", BankAccountType.CHECKING, "A"),
            PaymentMethodErrorCode.INVALID_ROUTING_NUMBER,
        ),
        (
            BankAccount("11000000", "000123456789", BankAccountType.CHECKING, "A"),
            PaymentMethodErrorCode.INVALID_ROUTING_NUMBER,
        ),
        (
            BankAccount("110000000", "12ab", BankAccountType.SAVINGS, "A"),
            PaymentMethodErrorCode.INVALID_ACCOUNT_NUMBER,
        ),
        (
            BankAccount("110000000", "4242424242424242", BankAccountType.CHECKING, "A"),
            PaymentMethodErrorCode.CARD_NUMBER_NOT_ACCEPTED,
        ),
        # A card number written with separators or in another script's digits, and a
        # card-like prefix with a letter: refused with their codes, not a server error.
        *(
            (
                BankAccount("110000000", number, BankAccountType.CHECKING, "A"),
                PaymentMethodErrorCode.CARD_NUMBER_NOT_ACCEPTED,
            )
            for number in ["4242-4242-4242-4242", "4242 4242 4242 4242", "\uff14\uff12" * 8]
        ),
        (
            BankAccount("110000000", "41234567890123a", BankAccountType.CHECKING, "A"),
            PaymentMethodErrorCode.INVALID_ACCOUNT_NUMBER,
        ),
        (
            BankAccount("110000000", "000123456789", BankAccountType.CHECKING, " "),
            PaymentMethodErrorCode.INVALID_INPUT,
        ),
        (
            BankAccount(
                "110000000", "000123456789", BankAccountType.CHECKING, "4000 0566 5566 5556"
            ),
            PaymentMethodErrorCode.CARD_NUMBER_NOT_ACCEPTED,
        ),
    ],
)
async def test_bad_bank_accounts_are_refused_and_change_nothing(
    db: str, account: BankAccount, code: PaymentMethodErrorCode
) -> None:
    viewer = await _alex()
    before = await snapshot()
    with pytest.raises(PaymentMethodError) as caught:
        await add_bank_account(viewer=viewer, account=account)
    assert caught.value.code is code
    assert account.account_number not in caught.value.message
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("token", "nickname", "code"),
    [
        ("tok_nope", None, PaymentMethodErrorCode.INVALID_TOKEN),
        ("4242424242424242", None, PaymentMethodErrorCode.CARD_NUMBER_NOT_ACCEPTED),
        (
            "tok_visa",
            "my card 5555-5555-5555-4444",
            PaymentMethodErrorCode.CARD_NUMBER_NOT_ACCEPTED,
        ),
        ("tok_visa", "x" * 61, PaymentMethodErrorCode.INVALID_INPUT),
        ("tok_visa", "\n", PaymentMethodErrorCode.INVALID_INPUT),
        ("tok_visa", "\x1c\x1d", PaymentMethodErrorCode.INVALID_INPUT),
        ("tok_visa", "\u202eVisa 4242", PaymentMethodErrorCode.INVALID_INPUT),
        (
            "tok_visa",
            "4242\u00a04242\u00a04242\u00a04242",
            PaymentMethodErrorCode.CARD_NUMBER_NOT_ACCEPTED,
        ),
    ],
)
async def test_bad_cards_are_refused_and_change_nothing(
    db: str, token: str, nickname: str | None, code: PaymentMethodErrorCode
) -> None:
    viewer = await _alex()
    before = await snapshot()
    with pytest.raises(PaymentMethodError) as caught:
        await add_card(viewer=viewer, token=token, nickname=nickname)
    assert caught.value.code is code
    assert "4242" not in caught.value.message and "4444" not in caught.value.message
    assert await snapshot() == before


async def test_removing_the_default_promotes_another_method(db: str) -> None:
    viewer = await _alex()
    first = await add_card(viewer=viewer, token="tok_visa")
    second = await add_card(viewer=viewer, token="tok_amex")

    removed = await remove_payment_method(viewer=viewer, method_id=first.id)

    assert removed.status is PaymentMethodStatus.REMOVED and not removed.is_default
    assert (await PaymentMethod.get(id=second.id)).is_default
    before = await snapshot()
    with pytest.raises(PaymentMethodError) as caught:
        await remove_payment_method(viewer=viewer, method_id=first.id)
    assert caught.value.code is PaymentMethodErrorCode.PAYMENT_METHOD_NOT_FOUND
    assert await snapshot() == before


async def test_a_method_autopay_uses_cannot_be_removed(db: str) -> None:
    viewer = await _alex()
    card = await add_card(viewer=viewer, token="tok_visa")
    acct = await factories.account(viewer.member)
    stamp = datetime(2026, 11, 1, tzinfo=UTC)
    await AutopayEnrollment.create(
        account=acct,
        member=viewer.member,
        method_id=card.id,
        strategy=AutopayStrategy.STATEMENT_BALANCE,
        created_at=stamp,
        updated_at=stamp,
    )
    before = await snapshot()

    with pytest.raises(PaymentMethodError) as caught:
        await remove_payment_method(viewer=viewer, method_id=card.id)

    assert caught.value.code is PaymentMethodErrorCode.PAYMENT_METHOD_IN_USE
    assert await snapshot() == before


async def test_someone_elses_method_is_not_found(db: str) -> None:
    viewer = await _alex()
    eve = await factories.member("eve@example.org")
    theirs = await factories.card(eve)
    before = await snapshot()
    for action in (remove_payment_method, set_default_payment_method):
        with pytest.raises(PaymentMethodError) as caught:
            await action(viewer=viewer, method_id=theirs.id)
        assert caught.value.code is PaymentMethodErrorCode.PAYMENT_METHOD_NOT_FOUND
    assert await snapshot() == before


async def test_concurrent_default_changes_leave_exactly_one_default(db: str) -> None:
    viewer = await _alex()
    methods = [await add_card(viewer=viewer, token="tok_visa") for _ in range(6)]

    await asyncio.gather(
        *(set_default_payment_method(viewer=viewer, method_id=m.id) for m in methods),
        *(add_card(viewer=viewer, token="tok_amex", make_default=True) for _ in range(3)),
    )

    assert await PaymentMethod.filter(member_id=viewer.member.id, is_default=True).count() == 1


async def test_a_blank_nickname_is_no_nickname(db: str) -> None:
    viewer = await _alex()
    for blank in ("", "   "):
        saved = await add_card(viewer=viewer, token="tok_visa", nickname=blank)
        assert (await PaymentMethod.get(id=saved.id)).nickname is None
