"""Domain exceptions and the exit codes scripts rely on (SPEC §4).

Services raise these; the CLI maps them to exit codes in one place
(:mod:`arayis_cli.cli.output`). Messages name application numbers and
abonent codes, never a citizen's FIN, phone or email.
"""

from __future__ import annotations

from decimal import Decimal
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Documented exit codes; never renumber."""

    OK = 0
    INTERNAL = 1
    INVALID_INPUT = 2
    DEBT = 3
    NOT_FOUND = 4
    CONFLICT = 5
    VERIFICATION_FAILED = 6


class ArayisError(Exception):
    """Base of every expected refusal."""

    exit_code: ExitCode = ExitCode.INTERNAL
    error: str = "error"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def as_json(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.message, **self.extra}


class InvalidInput(ArayisError):
    exit_code = ExitCode.INVALID_INPUT
    error = "invalid_input"


class NotFound(ArayisError):
    exit_code = ExitCode.NOT_FOUND
    error = "not_found"


class Conflict(ArayisError):
    exit_code = ExitCode.CONFLICT
    error = "conflict"


class DebtOutstanding(ArayisError):
    """Print refused: the abonent owes money right now (xəbərdarlıq)."""

    exit_code = ExitCode.DEBT
    error = "debt"

    def __init__(self, message: str, *, debt: Decimal, **extra: Any) -> None:
        from arayis_cli.money import money_json

        super().__init__(message, debt=money_json(debt), **extra)
        self.debt = debt


class VerificationFailed(ArayisError):
    exit_code = ExitCode.VERIFICATION_FAILED
    error = "verification_failed"
