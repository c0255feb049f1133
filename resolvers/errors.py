"""Domain errors: expected failures that become payload errors with a code."""

from __future__ import annotations

from enum import Enum


class DomainError(Exception):
    """An expected failure with a machine-readable code and a message for people."""

    def __init__(self, code: Enum, message: str, field: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class NotFound(Exception):
    """The thing does not exist, or the viewer may not know that it does."""


class Forbidden(Exception):
    """The viewer is authenticated but this action is not theirs to take."""


class Unauthenticated(Exception):
    """No valid credentials were presented."""


class InvalidInput(ValueError):
    """An argument (a cursor, a page size, an ID) is malformed."""
