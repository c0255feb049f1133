"""Money: an integer count of minor units plus an ISO-4217 currency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from functools import cache

from babel import Locale
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    is_currency,
)

# No amount of money has more digits before the point (keeps arithmetic from overflowing).
MAX_INTEGER_DIGITS = 18
MAX_FRACTION_DIGITS = 18
# Enough digits for any amount `Money.parse` accepts, scaled to minor units.
_EXACT_DIGITS = MAX_INTEGER_DIGITS + MAX_FRACTION_DIGITS + 8


class InvalidMoney(ValueError):
    """An amount or currency that cannot be money."""


# ISO 4217's minor units where they differ from Babel's, which gives the decimals people
# are shown (CLDR's), not those the currency has: a processor counts 10.50 COP as 1050.
_ISO_MINOR_DIGITS = {
    "AFN": 2,
    "ALL": 2,
    "COP": 2,
    "HUF": 2,
    "IDR": 2,
    "IQD": 3,
    "IRR": 2,
    "KPW": 2,
    "LAK": 2,
    "LBP": 2,
    "MGA": 2,
    "MMK": 2,
    "SLL": 2,
    "SOS": 2,
    "SYP": 2,
    "YER": 2,
}


@cache
def minor_digits(currency: str) -> int:
    """How many decimals the currency has in ISO 4217 (USD 2, JPY 0, COP 2, IQD 3)."""
    return _ISO_MINOR_DIGITS.get(currency, int(get_currency_precision(currency)))


@cache
def _reading_locale() -> Locale:
    """The locale amounts are written for people in (parsed once: Babel parses a name per use)."""
    return Locale.parse("en_US")


def babel_formatted(money: Money) -> str:
    """The amount as Babel's format_currency writes it for the reading locale, with every
    decimal the currency has (Babel would round COP and IQD to whole units)."""
    locale = _reading_locale()
    if money.currency not in _ISO_MINOR_DIGITS:
        return str(format_currency(money.decimal, money.currency, locale=locale))
    digits = minor_digits(money.currency)
    pattern = "¤#,##0." + "0" * digits  # the reading locale's standard pattern's shape
    return str(
        format_currency(
            money.decimal, money.currency, format=pattern, locale=locale, currency_digits=False
        )
    )


@dataclass(frozen=True, slots=True)
class _Writing:
    """How the reading locale writes amounts of one currency: what goes before the
    digits of a positive and of a negative amount, and how many decimals follow."""

    positive: str
    negative: str
    digits: int

    def write(self, minor: int) -> str:
        whole, part = divmod(abs(minor), 10**self.digits)
        number = f"{whole:,}.{part:0{self.digits}d}" if self.digits else f"{whole:,}"
        return (self.negative if minor < 0 else self.positive) + number


# Amounts that show the sign, the grouping and the decimals Babel writes.
_PROBES = (0, 5, -5, 123, 123456789, -123456789, 10**20 + 7, -(10**20 + 7))


# Babel takes about ten times as long per amount as `_Writing`: its number pattern is
# general, the reading locale's is one shape, "¤#,##0.00" with "," and ".".
@cache
def _writing(currency: str) -> _Writing | None:
    """The currency's `_Writing`, if it writes what Babel's format_currency writes for
    the reading locale, as checked once on `_PROBES`; None: Babel writes it."""
    locale = _reading_locale()
    positive, negative = locale.currency_formats["standard"].prefix
    symbol = get_currency_symbol(currency, locale)
    writing = _Writing(
        positive.replace("¤", symbol), negative.replace("¤", symbol), minor_digits(currency)
    )
    same = all(writing.write(minor) == babel_formatted(Money(minor, currency)) for minor in _PROBES)
    return writing if same else None


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
        # Exact: the default context keeps 28 digits, and would round away a last digit
        # of "10000000000.000000000000000001" before the check could see it.
        with localcontext(prec=_EXACT_DIGITS):
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
        """The amount as a person reads it, e.g. "$1,234.50" (as Babel writes it for en_US)."""
        writing = _writing(self.currency)
        if writing is None or type(self.minor) is not int:
            return babel_formatted(self)
        return writing.write(self.minor)

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
