"""Payload errors of the payment mutations, and the card-number screen of their inputs."""

import dataclasses
from typing import Any

import strawberry
from strawberry.utils.str_converters import to_camel_case

from graph.types.common import PaymentErrorCode
from models import enums
from resolvers import payment_errors
from resolvers.screening import card_number_field

strawberry.enum(enums.PaymentMethodErrorCode, description="Why a payment-method change failed.")
PaymentMethodErrorCode = enums.PaymentMethodErrorCode


@strawberry.type(description="An expected failure of a payment mutation.")
class PaymentError:
    field: list[str] | None = strawberry.field(description="The input field at fault, if one.")
    message: str
    code: PaymentErrorCode

    @classmethod
    def of(cls, error: payment_errors.PaymentError) -> "PaymentError":
        """The payload error for a domain error."""
        return cls(field=error.field, message=error.message, code=error.code)


@strawberry.type(description="An expected failure of a payment-method mutation.")
class PaymentMethodError:
    field: list[str] | None = strawberry.field(description="The input field at fault, if one.")
    message: str
    code: PaymentMethodErrorCode

    @classmethod
    def of(cls, error: payment_errors.PaymentMethodError) -> "PaymentMethodError":
        """The payload error for a domain error."""
        return cls(field=error.field, message=error.message, code=error.code)


def card_number_path(input: Any, *, exempt: tuple[str, ...] = ()) -> list[str] | None:
    """The camelCase path of the first input string that looks like a card number."""
    found = card_number_field(_plain(input), exempt=exempt)
    return None if found is None else [to_camel_case(part) for part in found]


def _plain(value: Any) -> Any:
    """An input object as nested dicts and lists, its values themselves (no copies, unlike
    `strawberry.asdict`, which deep-copies every value)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


CARD_NUMBER_MESSAGE = payment_errors.CARD_NUMBER_MESSAGE
