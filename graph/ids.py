"""Relay global IDs: opaque base64 of "Type:id"."""

import base64
import binascii

from models.keys import MAX_ROW_ID, is_row_id
from resolvers.errors import NotFound

# What a well-formed ID whose key no row can have decodes to: a key that matches no row,
# so the ID answers exactly as an unknown one everywhere, without reaching past the column.
NO_ROW = -1


def to_global_id(type_name: str, pk: int) -> str:
    """The opaque global ID of a row."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def parse_global_id(global_id: str) -> tuple[str, int]:
    """The type name and primary key behind a global ID; NotFound if it is not one."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        raw = base64.urlsafe_b64decode(padded.encode())
        type_name, _, raw_pk = raw.decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise NotFound("id") from None
    # Only as to_global_id writes it: the decoder skips characters outside the alphabet
    # (" <id>!!" read as <id>), and a number may not start with a zero.
    if base64.urlsafe_b64encode(raw).decode().rstrip("=") != global_id:
        raise NotFound("id")
    leading_zero = len(raw_pk) > 1 and raw_pk.startswith("0")
    if not type_name or not (raw_pk.isascii() and raw_pk.isdigit()) or leading_zero:
        raise NotFound("id")
    # A number no id column holds names no row.
    pk = int(raw_pk) if len(raw_pk) <= len(str(MAX_ROW_ID)) else NO_ROW
    return type_name, pk if is_row_id(pk) else NO_ROW


def decode_id(global_id: str, type_name: str) -> int:
    """The primary key of a global ID that must name `type_name`; NotFound otherwise."""
    found_type, pk = parse_global_id(global_id)
    if found_type != type_name:
        raise NotFound(type_name)
    return pk
