"""Card-number detection, ABA routing checksums, amounts and banking days."""

from __future__ import annotations

import uuid
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
    has_unprintable,
    looks_like_card_in_account_number,
    looks_like_card_number,
    luhn_valid,
    parse_amount,
    redact_card_numbers,
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
        "4242\u00a04242\u00a04242\u00a04242",  # no-break spaces, as copied from a PDF
        "4242\u200b4242\u200b4242\u200b4242",  # zero-width spaces
        "4242  4242  4242  4242",
        "4242/4242/4242/4242",
        "4242_4242_4242_4242",
        "4242\u20134242\u20134242\u20134242",  # en dashes
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
        "54654186-8652-41fe-b06a-519a1bff9d2f",  # a UUID whose digit groups pass Luhn
        "bc020026-8986-4530-8cef-84428280d3e7",
        "autopay:12345:67890:2026-12-07:2",  # autopay's own keys
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


def test_no_random_uuid_is_taken_for_a_card() -> None:
    # One in about 350 was, and its payment refused, though the API suggests UUID keys.
    assert not any(looks_like_card_number(str(uuid.uuid4())) for _ in range(20_000))


@pytest.mark.parametrize(
    "message",
    [
        "Boolean cannot represent a non boolean value: '4242\\t4242\\t4242\\t4242'",
        "value: '4242\\xa04242\\u200b4242\\n4242'",
    ],
)
def test_a_card_number_quoted_with_escapes_is_redacted(message: str) -> None:
    # graphql-core quotes a refused value as repr() does: escapes between the digits.
    assert "4242" not in redact_card_numbers(message)
    assert "[card number removed]" in redact_card_numbers(message)


@pytest.mark.parametrize("text", ["\u202eVisa 4242", "Visa\u200f", "a\u2066b", "\ufeffx", "a\x00"])
def test_invisible_formatting_and_control_characters_are_unprintable(text: str) -> None:
    assert has_unprintable(text)


def test_the_joiners_that_scripts_need_are_printable() -> None:
    assert not has_unprintable("\u0645\u06cc\u200c\u062e\u0648\u0627\u0645")  # Persian
    assert not has_unprintable("\U0001f469\u200d\U0001f4bb")  # an emoji sequence


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
