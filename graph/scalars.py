"""Scalar overrides: a Decimal that reads only plain decimal numbers.

Strawberry's Decimal hands any string Python's `Decimal` accepts to the resolvers:
exponents ("1E+999999999", whose plain form is a gigabyte), underscores and non-ASCII
digits. Amounts are written the way people write them, so anything else is refused
at the edge with a message that does not repeat the input.
"""

import decimal
import re

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DecimalDefinition
from strawberry.types.scalar import ScalarDefinition

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


PlainDecimal = ScalarDefinition(
    name=DecimalDefinition.name,
    description=DecimalDefinition.description,
    specified_by_url=None,
    serialize=DecimalDefinition.serialize,
    parse_value=parse_plain_decimal,
    parse_literal=None,
    origin=decimal.Decimal,
)
