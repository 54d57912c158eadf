"""Certificate numbers ``AR-YYYY-NNNNNN-C``: C is a Damm check digit over the digits.

Demo certificates have a series of their own, ``NM-YYYY-NNNNNN-C`` (nümunə), with the same
check digit: a number typed off a demo paper can never name an office's certificate.

The Damm algorithm catches every single-digit error and every swap of two adjacent
digits, so a mistyped number is recognised as invalid instead of naming someone else's
certificate.
"""

from __future__ import annotations

import re

from arayis_cli.errors import InvalidInput
from arayis_cli.i18n import _

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
NUMBER_RE = re.compile(r"^(AR|NM)-(\d{4})-(\d{6,})-(\d)$")
#: The office's series and the demo's.
OFFICE = "AR"
DEMO = "NM"


class BadCheckDigit(InvalidInput):
    """A number of the right form whose check digit does not match (a typing error)."""


def damm(digits: str) -> int:
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][int(ch)]
    return interim


def certificate_number(year: int, sequence: int, *, series: str = OFFICE) -> str:
    body = f"{year:04d}{sequence:06d}"
    return f"{series}-{year:04d}-{sequence:06d}-{damm(body)}"


def is_demo_number(number: str) -> bool:
    """A number of the demo series: never a valid certificate, in any register."""
    return number.strip().upper().startswith(f"{DEMO}-")


def looks_like_number(text: str) -> bool:
    return bool(re.match(r"^\s*(AR|NM)-\d", text, re.I))


def parse_number(text: str) -> str:
    """A typed certificate number, checked; a mistyped one is refused."""
    value = text.strip().upper().replace(" ", "")
    match = NUMBER_RE.match(value)
    if not match:
        raise InvalidInput(_("certificate number must look like AR-2026-000123-4"))
    _series, year, seq, check = match.groups()
    if damm(year + seq) != int(check):
        raise BadCheckDigit(
            _(
                "{value} is not a valid certificate number (check digit does not match: mistyped?)"
            ).format(value=value)
        )
    return value
