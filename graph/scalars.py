"""Scalar overrides: a Decimal that reads only plain decimal numbers, and a DateTime
that always reaches the resolvers in UTC.

Strawberry's Decimal hands any string Python's `Decimal` accepts to the resolvers:
exponents ("1E+999999999", whose plain form is a gigabyte), underscores and non-ASCII
digits. Amounts are written the way people write them, so anything else is refused
at the edge with a message that does not repeat the input.

Strawberry's DateTime hands over what the string says: a time without a zone (which
cannot be compared with one that has a zone), or one whose UTC instant falls outside
the years 1-9999 that Python and PostgreSQL hold ("0001-01-01T00:00:00+05:00").
"""

import dataclasses
import decimal
import re
from datetime import UTC, datetime

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DateTimeDefinition, DecimalDefinition

# Up to 15 digits before the point (far above any bill) and 18 after it, so that
# "1.005" still reaches the resolvers and gets their INVALID_AMOUNT payload error.
PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]{1,15}(\.[0-9]{1,18})?")
DECIMAL_MESSAGE = (
    'Decimal values are plain numbers such as "125.40": ASCII digits, an optional '
    "point, at most 15 digits before it and 18 after it, no exponent."
)


def parse_plain_decimal(value: object) -> decimal.Decimal:
    """A Decimal from a plain decimal string (or a JSON number); a coercion error otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or PLAIN_DECIMAL.fullmatch(value) is None:
        raise StrawberryInputCoercionError(DECIMAL_MESSAGE)
    return decimal.Decimal(value)


# Strawberry's own scalars, but for how they read input.
PlainDecimal = dataclasses.replace(DecimalDefinition, parse_value=parse_plain_decimal)

DATETIME_RANGE_MESSAGE = "DateTime values must fall within the years 1 to 9999 in UTC."


def parse_utc_datetime(value: object) -> datetime:
    """An ISO 8601 date and time as Strawberry reads it, in UTC: a time without a zone is
    UTC (as everywhere in the API); a coercion error for a time UTC cannot hold."""
    read = DateTimeDefinition.parse_value
    parsed = read(value) if read is not None else None
    if not isinstance(parsed, datetime):  # Strawberry's parser reads only datetimes
        raise StrawberryInputCoercionError("Value cannot represent a DateTime.")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise StrawberryInputCoercionError(DATETIME_RANGE_MESSAGE) from None


UtcDateTime = dataclasses.replace(DateTimeDefinition, parse_value=parse_utc_datetime)
