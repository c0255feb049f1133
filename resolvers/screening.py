"""Keeping card numbers out: every string a mutation receives is screened before use.

Anything that looks like a card number (13-19 digits passing Luhn, possibly split
by spaces, dashes, dots and other short separators) is refused before it reaches a
query, a log or a row, and the refusal never repeats the value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from models.enums import PaymentMethodErrorCode
from models.validation import UNPRINTABLE_MESSAGE, has_unprintable, looks_like_card_number
from resolvers.payment_errors import CARD_NUMBER_MESSAGE, PaymentMethodError

CARD_MAGNITUDES = (12, 18)  # Decimal.adjusted() of a 13- to 19-digit number


def card_number_field(
    values: Mapping[str, object], *, exempt: Iterable[str] = ()
) -> list[str] | None:
    """The path of the first string (or whole decimal) in `values` that looks like a card."""
    skip = frozenset(exempt)
    for name, value in values.items():
        if name in skip:
            continue
        found = _scan(value, skip)
        if found is not None:
            return [name, *found]
    return None


def _scan(value: object, skip: frozenset[str]) -> list[str] | None:
    if isinstance(value, str):
        return [] if looks_like_card_number(value) else None
    if isinstance(value, Decimal):
        # Only a whole number of 13-19 digits can be a card: never write out a huge exponent.
        card_sized = (
            value.is_finite() and CARD_MAGNITUDES[0] <= value.adjusted() <= CARD_MAGNITUDES[1]
        )
        return [] if card_sized and looks_like_card_number(f"{value:f}") else None
    if isinstance(value, Mapping):
        return card_number_field(value, exempt=skip)
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _scan(item, skip)
            if found is not None:
                return [str(index), *found]
    return None


def screen_text(
    value: str | None, field: list[str], *, max_length: int, required: bool = False
) -> None:
    """Refuse a card-like, missing or over-long string of a payment-method input, or one
    with control or invisible characters (also one of nothing else)."""
    if value is not None and has_unprintable(value):
        raise PaymentMethodError(PaymentMethodErrorCode.INVALID_INPUT, UNPRINTABLE_MESSAGE, field)
    if value is None or not value.strip():
        if required:
            raise PaymentMethodError(
                PaymentMethodErrorCode.INVALID_INPUT, "This field is required.", field
            )
        return
    if looks_like_card_number(value):
        raise PaymentMethodError(
            PaymentMethodErrorCode.CARD_NUMBER_NOT_ACCEPTED, CARD_NUMBER_MESSAGE, field
        )
    if len(value) > max_length:
        raise PaymentMethodError(
            PaymentMethodErrorCode.INVALID_INPUT,
            f"This field takes at most {max_length} characters.",
            field,
        )


def blank_to_none(value: str | None) -> str | None:
    """An optional text left blank (spaces only) is not given at all."""
    return value if value is not None and value.strip() else None
