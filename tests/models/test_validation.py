"""Card-number detection, ABA routing checksums, amounts and banking days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.business_days import add_business_days, is_business_day
from models.validation import (
    InvalidAmount,
    aba_routing_valid,
    looks_like_card_in_account_number,
    looks_like_card_number,
    luhn_valid,
    parse_amount,
)


def with_check_digit(body: str) -> str:
    """Complete `body` with the digit that makes it pass Luhn."""
    return body + next(d for d in "0123456789" if luhn_valid(body + d))


@pytest.mark.parametrize(
    "text",
    [
        "4242424242424242",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "card: 5555.5555.5555.4444 thanks",
        "378282246310005",
        "6011111111111117",
        "4000056655665556",
        "\uff14\uff12\uff14\uff12" * 4,  # full-width digits
    ],
)
def test_card_numbers_are_spotted_in_any_format(text: str) -> None:
    assert looks_like_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "4242424242424241",  # fails Luhn
        "424242424242",  # too short
        "order 12345 on 2026-11-20",
        "tok_visa",
        "00000000-0000-4000-8000-000000000000",
        "",
    ],
)
def test_ordinary_text_is_not_a_card(text: str) -> None:
    assert not looks_like_card_number(text)


@given(st.integers(13, 19).flatmap(lambda n: st.text("0123456789", min_size=n - 1, max_size=n - 1)))
def test_every_luhn_valid_13_to_19_digit_string_is_spotted(body: str) -> None:
    assert looks_like_card_number(with_check_digit(body))
    assert looks_like_card_number(
        " ".join([with_check_digit(body)[:4], with_check_digit(body)[4:]])
    )


def test_bank_account_numbers_are_cards_only_with_a_card_network_prefix() -> None:
    assert looks_like_card_in_account_number("4242424242424242")
    assert not looks_like_card_in_account_number(with_check_digit("000123456789012"))
    assert not looks_like_card_in_account_number("000123456789")


@pytest.mark.parametrize(
    ("routing", "valid"),
    [
        ("110000000", True),
        ("021000021", True),
        ("011401533", True),
        ("110000001", False),
        ("000000000", False),
        ("12345678", False),
        ("11000000a", False),
        ("\uff11\uff11\uff10\uff10\uff10\uff10\uff10\uff10\uff10", False),
    ],
)
def test_aba_routing_checksum(routing: str, valid: bool) -> None:
    assert aba_routing_valid(routing) is valid


def test_amounts_respect_the_currency_exponent() -> None:
    assert parse_amount(Decimal("125.40"), "USD") == 12540
    assert parse_amount("1000", "JPY") == 1000
    for bad, currency in [("0.001", "USD"), ("1.5", "JPY"), ("0", "USD"), ("-1", "USD")]:
        with pytest.raises(InvalidAmount):
            parse_amount(bad, currency)
    with pytest.raises(InvalidAmount) as caught:
        parse_amount("4242424242424242.123", "USD")
    assert "4242" not in str(caught.value)


@pytest.mark.parametrize(
    "amount", ["10000000000.000000000000000001", "10000000000.000000000000000004"]
)
def test_a_last_decimal_beyond_28_digits_is_refused_not_rounded(amount: str) -> None:
    # Decimal's default context keeps 28 significant digits; the check must see them all.
    with pytest.raises(InvalidAmount):
        parse_amount(amount, "USD")
    assert parse_amount("1234567890.120000000000000000", "USD") == 123456789012


def test_ach_settles_on_banking_days() -> None:
    friday = datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert add_business_days(friday, 2) == datetime(2026, 11, 24, 10, tzinfo=UTC)
    wednesday = datetime(2026, 11, 25, 10, tzinfo=UTC)  # Thanksgiving is the 26th
    assert add_business_days(wednesday, 1) == datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert not is_business_day(date(2026, 12, 25))


def test_ach_banking_days_are_counted_on_the_service_zones_calendar() -> None:
    new_york = ZoneInfo("America/New_York")
    friday_evening = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # Friday 21:00 in New York
    # Counted in New York: Friday + Monday, Tuesday -> Tuesday 21:00 there.
    assert add_business_days(friday_evening, 2, new_york) == datetime(2026, 11, 25, 2, tzinfo=UTC)
    # Counted on UTC dates it was a Saturday payment, due a day earlier.
    assert add_business_days(friday_evening, 2) == datetime(2026, 11, 24, 2, tzinfo=UTC)
    # Across the end of daylight saving time (November 1st) the local time is kept.
    friday = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)  # Friday 10:00 EDT
    assert add_business_days(friday, 1, new_york) == datetime(2026, 11, 2, 15, tzinfo=UTC)
