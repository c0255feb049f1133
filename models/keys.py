"""Row ids: the range every id column can hold."""

from __future__ import annotations

# The id columns are INTEGER, 32-bit on PostgreSQL: no row has an id outside 1..MAX_ROW_ID,
# and PostgreSQL refuses to compare one with a larger number.
MAX_ROW_ID = 2**31 - 1
# The outbox's id column is BIGINT, 64-bit on both databases.
MAX_OUTBOX_ID = 2**63 - 1


def is_row_id(value: object) -> bool:
    """Whether a value is an integer some row could have as its id (bools are not)."""
    return type(value) is int and 0 < value <= MAX_ROW_ID
