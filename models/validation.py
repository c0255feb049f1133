"""Input checks of the payments domain: card-number detection, ABA routing, amounts."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from models.money import InvalidMoney, Money, minor_digits

CARD_DIGITS = range(13, 20)
# Digit groups (any script's decimal digits) joined by short gaps of separators: any
# space (a no-break space copied from a PDF too), dash, invisible formatting character,
# dot, slash or underscore, up to three of them.
_DIGIT_GROUP = re.compile(r"\d+")
_NOT_DIGITS = re.compile(r"\D+")
_SEPARATORS = frozenset("./_")
_MAX_GAP = 3
# A UUID (the idempotency key we suggest) splits hex digits by dashes: its digit groups
# can add up to a Luhn-valid 13-19, but it is never a card number.
_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
# How a repr() quotes characters (graphql-core quotes a refused value so): a card number
# in such a quote is split by escapes, not by separators.
_ESCAPE = re.compile(r"\\(?:[abfnrtv0]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")
# The largest amount a single payment may carry, in minor units (a sanity bound, not policy).
MAX_AMOUNT_MINOR = 10**12


UNPRINTABLE_MESSAGE = (
    "This field may not contain control characters, invisible formatting characters or "
    "invalid Unicode."
)


# Joiners that writing systems need (Persian, Indic scripts, emoji sequences).
_JOINERS = frozenset("\u200c\u200d")


def has_unprintable(text: str) -> bool:
    """Whether text holds control characters (NUL included), lone surrogates, or
    invisible formatting characters other than the joiners.

    PostgreSQL cannot store NUL in text and no driver can encode a lone surrogate;
    direction overrides and zero-width characters make a name read otherwise than it is
    stored (and can hide a card number's digits). Such input is refused up front, with
    a payload error, instead of failing mid-write.
    """
    return any(
        unicodedata.category(char) in ("Cc", "Cs")
        or (unicodedata.category(char) == "Cf" and char not in _JOINERS)
        for char in text
    )


def _separates(gap: str) -> bool:
    return 0 < len(gap) <= _MAX_GAP and all(
        char in _SEPARATORS or char.isspace() or unicodedata.category(char) in ("Pd", "Cf")
        for char in gap
    )


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn (mod 10) check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)  # any Unicode decimal digit: full-width digits are digits too
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _digit_runs(text: str) -> list[tuple[list[str], int, int]]:
    """Runs of digit groups that only short gaps of separators split, with where each
    run lies."""
    runs: list[tuple[list[str], int, int]] = []
    for match in _DIGIT_GROUP.finditer(text):
        if runs:
            groups, start, end = runs[-1]
            if _separates(text[end : match.start()]):
                groups.append(match.group())
                runs[-1] = (groups, start, match.end())
                continue
        runs.append(([match.group()], match.start(), match.end()))
    return runs


def _holds_card(groups: list[str]) -> bool:
    for first in range(len(groups)):
        digits = ""
        for group in groups[first:]:
            digits += group
            if len(digits) > CARD_DIGITS.stop - 1:
                break
            if len(digits) in CARD_DIGITS and luhn_valid(digits):
                return True
    return False


def looks_like_card_number(text: str) -> bool:
    """Whether the text holds 13-19 digits, alone or in separated groups, that pass Luhn."""
    if len(text) < CARD_DIGITS.start or len(_NOT_DIGITS.sub("", text)) < CARD_DIGITS.start:
        return False  # too few digits in all: the common case, decided without a scan
    if _UUID.fullmatch(text):
        return False
    return any(_holds_card(groups) for groups, _, _ in _digit_runs(text))


def redact_card_numbers(text: str) -> str:
    """The text with every card-number-like run of digits replaced, also one quoted with
    escapes between its digits (the escapes then read as spaces)."""
    text = _redact(text)
    unescaped = _ESCAPE.sub(" ", text)
    return _redact(unescaped) if unescaped != text and looks_like_card_number(unescaped) else text


def _redact(text: str) -> str:
    for groups, start, end in reversed(_digit_runs(text)):
        if _holds_card(groups):
            text = text[:start] + "[card number removed]" + text[end:]
    return text


# Issuer prefixes of the card networks (Visa, Mastercard, Amex, Discover, Diners, JCB,
# UnionPay, Maestro), used where a field legitimately holds long digit strings.
_CARD_PREFIX = re.compile(r"^(4|5[1-5]|2[2-7]|3[47]|3[0689]|6|35|62|5[06-9])")


def ascii_digits(text: str) -> bool:
    """Whether text is ASCII digits only (`str.isdigit` alone also takes superscripts and
    other scripts' digits)."""
    return text.isascii() and text.isdigit()


def looks_like_card_in_account_number(number: str) -> bool:
    """A bank account number of ASCII digits that is a card number: Luhn-valid with a card
    network prefix. Anything but ASCII digits is not an account number at all (free text
    is screened with `looks_like_card_number`)."""
    if not ascii_digits(number):
        return False
    return len(number) in CARD_DIGITS and bool(_CARD_PREFIX.match(number)) and luhn_valid(number)


def aba_routing_valid(routing: str) -> bool:
    """Whether a 9-digit ABA routing number passes its 3-7-1 checksum."""
    if len(routing) != 9 or not ascii_digits(routing):
        return False
    d = [int(c) for c in routing]
    checksum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])
    return checksum % 10 == 0 and routing != "000000000"


def bank_account_number_valid(number: str) -> bool:
    """Whether a US bank account number has a plausible shape (4 to 17 digits)."""
    return ascii_digits(number) and 4 <= len(number) <= 17


class InvalidAmount(ValueError):
    """An amount that cannot be paid: not positive, too precise, or absurdly large."""


def parse_amount(amount: Decimal | str, currency: str) -> int:
    """A positive amount in minor units, refusing more decimals than the currency has."""
    try:
        money = Money.parse(amount, currency)
    except InvalidMoney:
        # Our own words: the message must never echo what the client sent.
        places = minor_digits(currency)
        raise InvalidAmount(
            f"the amount must be a number with at most {places} decimal places in {currency}"
        ) from None
    return check_amount(money.minor)


def check_amount(minor: int) -> int:
    """A positive amount in minor units within the sanity bound."""
    if minor <= 0:
        raise InvalidAmount("the amount must be greater than zero")
    if minor > MAX_AMOUNT_MINOR:
        raise InvalidAmount("the amount is larger than any payment we accept")
    return minor
