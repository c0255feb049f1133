"""Money: an integer count of minor units plus an ISO-4217 currency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

from babel import Locale
from babel.numbers import format_currency, get_currency_precision, is_currency

# No amount of money has more digits before the point (keeps arithmetic from overflowing).
MAX_INTEGER_DIGITS = 18
MAX_FRACTION_DIGITS = 18


class InvalidMoney(ValueError):
    """An amount or currency that cannot be money."""


@cache
def minor_digits(currency: str) -> int:
    """How many decimals the currency has (USD 2, JPY 0)."""
    return int(get_currency_precision(currency))


@cache
def _reading_locale() -> Locale:
    """The locale amounts are written for people in (parsed once: Babel parses a name per use)."""
    return Locale.parse("en_US")


def check_currency(currency: str) -> str:
    """Return the currency code if it is a known ISO-4217 code."""
    if not (len(currency) == 3 and currency.isupper() and is_currency(currency)):
        raise InvalidMoney(f"{currency!r} is not an ISO-4217 currency code")
    return currency


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: `minor` units (cents) of `currency`."""

    minor: int
    currency: str = "USD"

    @classmethod
    def parse(cls, amount: Decimal | str, currency: str = "USD") -> Money:
        """Parse a decimal amount, refusing more decimals than the currency has."""
        check_currency(currency)
        try:
            value = Decimal(amount)
        except (InvalidOperation, TypeError, ValueError):
            raise InvalidMoney(f"{amount!r} is not a decimal amount") from None
        if not value.is_finite():
            raise InvalidMoney("amount must be a finite number")
        if value and value.adjusted() > MAX_INTEGER_DIGITS:
            raise InvalidMoney("amount is too large")
        digits = minor_digits(currency)
        exponent = value.as_tuple().exponent
        scaled = value.scaleb(digits)
        if (isinstance(exponent, int) and exponent < -MAX_FRACTION_DIGITS) or (
            scaled != scaled.to_integral_value()
        ):
            raise InvalidMoney(f"{currency} amounts have at most {digits} decimal places")
        return cls(int(scaled), currency)

    @property
    def decimal(self) -> Decimal:
        """The amount as a decimal with the currency's number of places."""
        digits = minor_digits(self.currency)
        return Decimal(self.minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))

    @property
    def formatted(self) -> str:
        """The amount as a person reads it, e.g. "$1,234.50"."""
        return str(format_currency(self.decimal, self.currency, locale=_reading_locale()))

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidMoney(f"cannot mix {self.currency} and {other.currency}")

    def __str__(self) -> str:
        return f"{self.decimal} {self.currency}"
