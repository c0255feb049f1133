"""addPaymentMethod, removePaymentMethod and setDefaultPaymentMethod."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

import models
from graph.context import Info
from graph.ids import decode_id
from graph.mutations.errors import (
    CARD_NUMBER_MESSAGE,
    PaymentMethodError,
    PaymentMethodErrorCode,
    card_number_path,
)
from graph.types.common import BankAccountType, PaymentMethodKind
from graph.types.method import PaymentMethod
from resolvers import payment_methods
from resolvers.errors import NotFound
from resolvers.payment_errors import PaymentMethodError as DomainError


@strawberry.input(description="A card, as the processor's token for it. Never a card number.")
class CardInput:
    token: str = strawberry.field(description="From the processor's card form, e.g. tok_visa.")
    kind: PaymentMethodKind = strawberry.field(
        default=PaymentMethodKind.CARD, description="HSA_FSA_CARD for a health spending card."
    )


@strawberry.input(description="A US bank account for ACH debits. Only its last 4 digits are kept.")
class BankAccountInput:
    routing_number: str = strawberry.field(description="9 digits, checked by the ABA checksum.")
    account_number: str
    account_type: BankAccountType
    holder_name: str


@strawberry.input(description="Save a card or a bank account: give exactly one of the two.")
class AddPaymentMethodInput:
    card: CardInput | None = None
    bank_account: BankAccountInput | None = None
    nickname: str | None = None
    make_default: bool = False


@strawberry.type
class AddPaymentMethodPayload:
    payment_method: PaymentMethod | None
    errors: list[PaymentMethodError]


@strawberry.input
class RemovePaymentMethodInput:
    payment_method_id: strawberry.ID


@strawberry.type
class RemovePaymentMethodPayload:
    payment_method: PaymentMethod | None
    errors: list[PaymentMethodError]


@strawberry.input
class SetDefaultPaymentMethodInput:
    payment_method_id: strawberry.ID


@strawberry.type
class SetDefaultPaymentMethodPayload:
    payment_method: PaymentMethod | None
    errors: list[PaymentMethodError]


def _error(
    code: PaymentMethodErrorCode, message: str, field: list[str] | None
) -> list[PaymentMethodError]:
    return [PaymentMethodError(field=field, message=message, code=code)]


def _not_found() -> list[PaymentMethodError]:
    code = PaymentMethodErrorCode.PAYMENT_METHOD_NOT_FOUND
    return _error(code, "There is no such payment method.", ["paymentMethodId"])


P = TypeVar("P")


async def _change(
    info: Info,
    method_id: strawberry.ID,
    change: Callable[..., Awaitable[models.PaymentMethod]],
    payload: Callable[..., P],
) -> P:
    """Apply `change` to one of the viewer's methods; its payload, refusals as errors."""
    viewer = info.context.begin_mutation()
    try:
        method = await change(viewer=viewer, method_id=decode_id(method_id, "PaymentMethod"))
    except NotFound:
        return payload(payment_method=None, errors=_not_found())
    except DomainError as exc:
        return payload(payment_method=None, errors=[PaymentMethodError.of(exc)])
    return payload(payment_method=PaymentMethod(model=method), errors=[])


@strawberry.type
class PaymentMethodMutations:
    @strawberry.mutation(description="Save a card (by processor token) or a bank account.")
    async def add_payment_method(
        self, info: Info, input: AddPaymentMethodInput
    ) -> AddPaymentMethodPayload:
        viewer = info.context.begin_mutation()
        # Account numbers may be long digit strings; the resolver applies its own card rule.
        path = card_number_path(input, exempt=("account_number",))
        if path is not None:
            code = PaymentMethodErrorCode.CARD_NUMBER_NOT_ACCEPTED
            return AddPaymentMethodPayload(
                payment_method=None, errors=_error(code, CARD_NUMBER_MESSAGE, path)
            )
        if (input.card is None) == (input.bank_account is None):
            code = PaymentMethodErrorCode.INVALID_INPUT
            message = "Give exactly one of `card` and `bankAccount`."
            return AddPaymentMethodPayload(payment_method=None, errors=_error(code, message, None))
        try:
            if input.card is not None:
                method = await payment_methods.add_card(
                    viewer=viewer,
                    token=input.card.token,
                    kind=input.card.kind,
                    nickname=input.nickname,
                    make_default=input.make_default,
                )
            else:
                assert input.bank_account is not None
                bank = input.bank_account
                account = payment_methods.BankAccount(
                    routing_number=bank.routing_number,
                    account_number=bank.account_number,
                    account_type=bank.account_type,
                    holder_name=bank.holder_name,
                )
                method = await payment_methods.add_bank_account(
                    viewer=viewer,
                    account=account,
                    nickname=input.nickname,
                    make_default=input.make_default,
                )
        except DomainError as exc:
            return AddPaymentMethodPayload(payment_method=None, errors=[PaymentMethodError.of(exc)])
        return AddPaymentMethodPayload(payment_method=PaymentMethod(model=method), errors=[])

    @strawberry.mutation(description="Remove a saved method; refused while autopay uses it.")
    async def remove_payment_method(
        self, info: Info, input: RemovePaymentMethodInput
    ) -> RemovePaymentMethodPayload:
        return await _change(
            info,
            input.payment_method_id,
            payment_methods.remove_payment_method,
            RemovePaymentMethodPayload,
        )

    @strawberry.mutation(description="Make a saved method the default one.")
    async def set_default_payment_method(
        self, info: Info, input: SetDefaultPaymentMethodInput
    ) -> SetDefaultPaymentMethodPayload:
        return await _change(
            info,
            input.payment_method_id,
            payment_methods.set_default_payment_method,
            SetDefaultPaymentMethodPayload,
        )
