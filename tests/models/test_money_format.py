"""Money.formatted writes exactly what Babel's format_currency writes, for every currency."""

from collections.abc import Iterator

import pytest
from babel.numbers import list_currencies
from hypothesis import given, settings
from hypothesis import strategies as st

from models import money
from models.money import Money, babel_formatted

CURRENCIES = sorted(list_currencies())
UNKNOWN = ["ZZZ", "XTS", "usd"]  # Money does not check its currency; Babel writes these too


@pytest.fixture
def fresh_writings() -> Iterator[None]:
    money._writing.cache_clear()
    yield
    money._writing.cache_clear()


@settings(max_examples=600, deadline=None)
@given(
    currency=st.sampled_from(CURRENCIES + UNKNOWN),
    minor=st.one_of(
        st.integers(-999, 999), st.integers(-(10**20), 10**20), st.sampled_from([0, 10**18])
    ),
)
def test_every_currency_is_written_as_babel_writes_it(currency: str, minor: int) -> None:
    amount = Money(minor, currency)
    assert amount.formatted == babel_formatted(amount)


def test_the_common_currencies_read_as_people_expect() -> None:
    assert Money(123450, "USD").formatted == "$1,234.50"
    assert Money(-5, "USD").formatted == "-$0.05"
    assert Money(1234567, "JPY").formatted == "¥1,234,567"
    assert Money(1234, "BHD").formatted == "BHD1.234"
    assert Money(50, "EUR").formatted == "€0.50"


def test_minor_units_follow_iso_4217_where_babel_shows_fewer_decimals() -> None:
    # Babel (CLDR) shows COP and IQD in whole units; ISO 4217, and processors, count
    # cents of COP and thousandths of IQD.
    assert Money.parse("10.50", "COP") == Money(1050, "COP")
    assert Money(1050, "COP").formatted == "COP10.50"
    assert Money.parse("1.234", "IQD") == Money(1234, "IQD")
    assert Money(1234, "IQD").formatted == "IQD1.234"
    assert Money.parse("1050", "JPY") == Money(1050, "JPY")  # where they agree, as before


def test_the_shortcut_is_taken_for_every_currency_babel_knows(fresh_writings: None) -> None:
    assert [c for c in CURRENCIES if money._writing(c) is None] == []


def test_formatting_does_not_ask_babel_once_a_currency_is_checked(
    fresh_writings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert money._writing("USD") is not None

    def refuse(amount: Money) -> str:
        raise AssertionError("Babel was asked")

    monkeypatch.setattr(money, "babel_formatted", refuse)
    assert Money(-123456, "USD").formatted == "-$1,234.56"


def test_a_currency_babel_writes_otherwise_is_left_to_babel(
    fresh_writings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(money, "babel_formatted", lambda amount: f"{amount.minor} in words")
    assert money._writing("USD") is None
    assert Money(150, "USD").formatted == "150 in words"
