"""Relay global IDs: opaque base64 of "Type:id"."""

import base64
import binascii

from resolvers.errors import NotFound


def to_global_id(type_name: str, pk: int) -> str:
    """The opaque global ID of a row."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def parse_global_id(global_id: str) -> tuple[str, int]:
    """The type name and primary key behind a global ID; NotFound if it is not one."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw_pk = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        pk = int(raw_pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise NotFound("id") from None
    if not type_name or pk <= 0 or pk > 2**62:
        raise NotFound("id")
    return type_name, pk


def decode_id(global_id: str, type_name: str) -> int:
    """The primary key of a global ID that must name `type_name`; NotFound otherwise."""
    found_type, pk = parse_global_id(global_id)
    if found_type != type_name:
        raise NotFound(type_name)
    return pk
