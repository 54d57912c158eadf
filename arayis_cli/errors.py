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
    """Documented exit codes (SPEC §4) that scripts branch on; never renumber."""

    #: Done.
    OK = 0
    #: Unexpected internal error: a bug (bad input must never cause it).
    INTERNAL = 1
    #: Invalid input: bad option, malformed value, unsupported file, abonent not in group I.
    INVALID_INPUT = 2
    #: Print refused: the abonent has a debt right now.
    DEBT = 3
    #: Not found: unknown application, abonent or certificate; an empty queue.
    NOT_FOUND = 4
    #: Conflict: transition not allowed, checklist not passed, changed by another operator.
    CONFLICT = 5
    #: Verification failed: certificate not authentic or altered.
    VERIFICATION_FAILED = 6
    #: Not permitted: the login's role or the four-eyes policy forbids it.
    NOT_PERMITTED = 7
    #: Unavailable: database unreachable or lost, disk full or read-only, schema behind/ahead.
    UNAVAILABLE = 8
    #: Interrupted by the user (Ctrl-C), as shells report SIGINT.
    INTERRUPTED = 130


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


class AlreadyIssued(Conflict):
    """The application has a current certificate: print issues nothing (``--copy`` hands
    out the same paper, ``--renew`` a new one). A batch skips it: another run printed it."""

    def __init__(self, message: str, *, certificate_number: str, **extra: Any) -> None:
        super().__init__(message, certificate_number=certificate_number, **extra)
        self.certificate_number = certificate_number


class DebtOutstanding(ArayisError):
    """Print refused: the abonent owes money right now (xəbərdarlıq)."""

    exit_code = ExitCode.DEBT
    error = "debt"

    def __init__(self, message: str, *, debt: Decimal, **extra: Any) -> None:
        # The JSON form of money (money.money_json) written out here: errors is the module
        # everything else imports, so it imports none of the package itself.
        super().__init__(message, debt=f"{debt.quantize(Decimal('0.01')):f}", **extra)
        self.debt = debt


class NotPermitted(ArayisError):
    """The login's role, or the four-eyes policy, does not allow this (SPEC §5.4)."""

    exit_code = ExitCode.NOT_PERMITTED
    error = "not_permitted"


class Unavailable(ArayisError):
    """The environment failed, not the input: database, disk, schema (SPEC §4, exit 8)."""

    exit_code = ExitCode.UNAVAILABLE
    error = "unavailable"
