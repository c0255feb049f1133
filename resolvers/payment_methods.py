"""Saving, removing and choosing the default of a member's payment methods.

Cards arrive only as processor tokens; bank accounts are tokenised by the processor
and only the last four digits and the (public) routing number are kept. A member has
at most one default method: default changes lock the member's row on PostgreSQL,
and SQLite has a single writer.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from adapters.clock import now
from adapters.processor import ProcessorUnavailable, get_processor
from models.autopay import AutopayEnrollment
from models.bulk import Params
from models.enums import (
    AutopayStatus,
    BankAccountType,
    PaymentMethodErrorCode,
    PaymentMethodKind,
    PaymentMethodStatus,
)
from models.payments import PaymentMethod
from models.validation import (
    aba_routing_valid,
    ascii_digits,
    bank_account_number_valid,
    looks_like_card_number,
)
from models.validation import looks_like_card_in_account_number as card_in_account
from resolvers.access import Viewer
from resolvers.outbox import audit
from resolvers.payment_errors import CARD_NUMBER_MESSAGE, PaymentMethodError
from resolvers.screening import blank_to_none, screen_text

Code = PaymentMethodErrorCode


@dataclass(frozen=True)
class BankAccount:
    """A bank account as the member typed it; the full number goes to the processor only."""

    routing_number: str
    account_number: str
    account_type: BankAccountType
    holder_name: str


async def add_card(
    *,
    viewer: Viewer,
    token: str,
    kind: PaymentMethodKind = PaymentMethodKind.CARD,
    nickname: str | None = None,
    make_default: bool = False,
) -> PaymentMethod:
    """Save a card (or HSA/FSA card) from a processor token."""
    screen_text(token, ["card", "token"], max_length=128)
    screen_text(nickname, ["nickname"], max_length=60)
    if kind is PaymentMethodKind.ACH:
        raise PaymentMethodError(Code.INVALID_INPUT, "A card cannot be a bank account.", ["card"])
    details = await get_processor().card_details(token)
    if details is None:
        raise PaymentMethodError(
            Code.INVALID_TOKEN, "The processor does not know this card token.", ["card", "token"]
        )
    method = PaymentMethod(
        member_id=viewer.member.id,
        kind=kind,
        processor_token=token,
        brand=details.brand,
        last4=details.last4,
        exp_month=details.exp_month,
        exp_year=details.exp_year,
        nickname=blank_to_none(nickname),
    )
    return await _save(viewer, method, make_default=make_default)


async def add_bank_account(
    *, viewer: Viewer, account: BankAccount, nickname: str | None = None, make_default: bool = False
) -> PaymentMethod:
    """Save a bank account for ACH, after checking its routing number (ABA checksum)."""
    screen_text(account.holder_name, ["bankAccount", "holderName"], max_length=200, required=True)
    screen_text(nickname, ["nickname"], max_length=60)
    field = ["bankAccount", "accountNumber"]
    number = account.account_number
    # ASCII digits alone may be a long account number; anything else (separators, other
    # scripts' digits) is screened like free text.
    if card_in_account(number) if ascii_digits(number) else looks_like_card_number(number):
        raise PaymentMethodError(Code.CARD_NUMBER_NOT_ACCEPTED, CARD_NUMBER_MESSAGE, field)
    if not aba_routing_valid(account.routing_number):
        raise PaymentMethodError(
            Code.INVALID_ROUTING_NUMBER,
            "The routing number is not a valid ABA routing number.",
            ["bankAccount", "routingNumber"],
        )
    if not bank_account_number_valid(account.account_number):
        raise PaymentMethodError(
            Code.INVALID_ACCOUNT_NUMBER, "The account number must be 4 to 17 digits.", field
        )
    try:
        token = await get_processor().tokenize_bank_account(
            routing_number=account.routing_number,
            account_number=account.account_number,
            account_type=account.account_type.value,
            holder_name=account.holder_name,
        )
    except ProcessorUnavailable:
        raise PaymentMethodError(
            Code.PROCESSOR_UNAVAILABLE, "The payment processor did not answer. Try again."
        ) from None
    method = PaymentMethod(
        member_id=viewer.member.id,
        kind=PaymentMethodKind.ACH,
        processor_token=token.token,
        last4=token.last4,
        bank_name=token.bank_name,
        routing_number=account.routing_number,
        account_type=account.account_type,
        holder_name=account.holder_name.strip(),
        nickname=blank_to_none(nickname),
    )
    return await _save(viewer, method, make_default=make_default)


async def lock_member(conn: BaseDBAsyncClient, member_id: int) -> None:
    """Serialise changes to one member's methods, and autopay's choice of one of them;
    call it first in the transaction. A write to the member's row: on SQLite that takes
    the write lock at once (a transaction that reads first can fail with "database is
    locked"), on PostgreSQL a row lock that foreign-key checks on the member (a
    notification inserted for them) do not wait for, so it never deadlocks with them."""
    p = Params(conn)
    await conn.execute_query(
        f'UPDATE "member" SET "name" = "name" WHERE "id" = {p(member_id)}', p.values
    )


async def _save(viewer: Viewer, method: PaymentMethod, *, make_default: bool) -> PaymentMethod:
    member_id = viewer.member.id
    async with in_transaction() as conn:
        await lock_member(conn, member_id)
        await method.save(using_db=conn)
        has_default = (
            await PaymentMethod.filter(member_id=member_id, is_default=True).using_db(conn).exists()
        )
        if make_default or not has_default:
            await _make_default(conn, member_id, method.id)
            method.is_default = True
        await _audit(conn, "payment_method.added", method, member_id)
    return method


async def _make_default(conn: BaseDBAsyncClient, member_id: int, method_id: int) -> None:
    await (
        PaymentMethod.filter(member_id=member_id, is_default=True)
        .exclude(id=method_id)
        .using_db(conn)
        .update(is_default=False)
    )
    await PaymentMethod.filter(id=method_id).using_db(conn).update(is_default=True)


async def _audit(conn: BaseDBAsyncClient, action: str, method: PaymentMethod, actor: int) -> None:
    data = {"kind": method.kind.value, "last4": method.last4, "default": method.is_default}
    await audit(
        action=action,
        entity_type="payment_method",
        entity_id=method.id,
        actor_id=actor,
        data=data,
        using_db=conn,
    )


def _not_found() -> PaymentMethodError:
    return PaymentMethodError(
        Code.PAYMENT_METHOD_NOT_FOUND, "There is no such payment method.", ["paymentMethodId"]
    )


async def remove_payment_method(*, viewer: Viewer, method_id: int) -> PaymentMethod:
    """Remove one of the viewer's methods; refused while an active autopay uses it."""
    member_id = viewer.member.id
    in_use = AutopayEnrollment.filter(status=AutopayStatus.ACTIVE).values("method_id")
    async with in_transaction() as conn:
        await lock_member(conn, member_id)
        # Guard and write in one statement: no autopay enrollment can slip in between.
        rows = (
            await PaymentMethod.filter(
                id=method_id, member_id=member_id, status__not=PaymentMethodStatus.REMOVED
            )
            .exclude(id__in=Subquery(in_use))
            .using_db(conn)
            .update(status=PaymentMethodStatus.REMOVED, removed_at=now(), is_default=False)
        )
        method = await PaymentMethod.filter(id=method_id).using_db(conn).first()
        if rows != 1:
            if method is None or method.member_id != member_id:
                raise _not_found()
            if method.status is PaymentMethodStatus.REMOVED:
                raise _not_found()
            raise PaymentMethodError(
                Code.PAYMENT_METHOD_IN_USE,
                "Autopay uses this payment method. Change or cancel autopay first.",
                ["paymentMethodId"],
            )
        assert method is not None
        successor = await (
            PaymentMethod.filter(member_id=member_id, status=PaymentMethodStatus.ACTIVE)
            .using_db(conn)
            .order_by("-id")
            .first()
        )
        has_default = (
            await PaymentMethod.filter(member_id=member_id, is_default=True).using_db(conn).exists()
        )
        if successor is not None and not has_default:
            await _make_default(conn, member_id, successor.id)
        await _audit(conn, "payment_method.removed", method, member_id)
    return method


async def set_default_payment_method(*, viewer: Viewer, method_id: int) -> PaymentMethod:
    """Make one of the viewer's active methods the default."""
    member_id = viewer.member.id
    async with in_transaction() as conn:
        await lock_member(conn, member_id)
        rows = (
            await PaymentMethod.filter(
                id=method_id, member_id=member_id, status=PaymentMethodStatus.ACTIVE
            )
            .using_db(conn)
            .update(is_default=True)
        )
        if rows != 1:
            raise _not_found()
        await (
            PaymentMethod.filter(member_id=member_id, is_default=True)
            .exclude(id=method_id)
            .using_db(conn)
            .update(is_default=False)
        )
        method = await PaymentMethod.filter(id=method_id).using_db(conn).get()
        await _audit(conn, "payment_method.default", method, member_id)
    return method
