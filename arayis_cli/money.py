"""Money in AZN: exact decimals at the edges, integer qəpik in the database."""

from __future__ import annotations

import re
from decimal import Decimal

from arayis_cli.errors import InvalidInput
from arayis_cli.i18n import _

QEPIK = Decimal("0.01")
#: Money typed or read (docs/input.md): ASCII digits, optionally one separator ("." or ",")
#: and one or two digits.
#: Nothing else: no exponent, underscore, sign, currency, space (not even around it: " 7"
#: is refused, never trimmed), tab, line break or thousands separator.
AMOUNT_RE = re.compile(r"[0-9]+(?:[.,][0-9]{1,2})?", re.ASCII)
#: Twelve digits before the separator: far above any bill, far below the column's range
#: (and within Decimal's default 28 digits of precision).
MAX_INTEGER_DIGITS = 12


def parse_amount(text: str | Decimal | int, *, allow_negative: bool = False) -> Decimal:
    """An AZN amount as typed by a person or read from a file: ``12.50``, ``12,5``, ``7``.

    ``allow_negative`` lets a leading ``-`` through (ledger adjustments, which may credit).
    """
    if isinstance(text, Decimal | int):
        value = Decimal(text)
        if not value.is_finite() or value != value.quantize(QEPIK):
            raise InvalidInput(
                _("not an amount with at most two decimals: {text!r}").format(text=str(text)[:40])
            )
    else:
        raw = str(text)
        if raw.strip() != raw and raw.strip():
            # " 23.80", a tab or a line break around it: the grammar allows nothing but the
            # digits, so the same input always gets the same answer (never trimmed here and
            # not there).
            raise InvalidInput(
                _(
                    "amount {raw!r} has spaces, tabs or line breaks around it; give the digits "
                    "alone, e.g. 12.50"
                ).format(raw=raw[:40])
            )
        negative = allow_negative and raw.startswith("-")
        digits = raw[1:] if negative else raw
        if not AMOUNT_RE.fullmatch(digits):
            raise InvalidInput(
                _(
                    "amount must be digits with an optional decimal point or comma and at most "
                    "two decimals, e.g. 12.50, got {raw!r}"
                ).format(raw=raw[:40])
            )
        value = Decimal(digits.replace(",", "."))
        if negative:
            value = -value
    if value.copy_abs() >= Decimal(10) ** MAX_INTEGER_DIGITS:
        raise InvalidInput(_("amount is too large: {text!r}").format(text=str(text)[:40]))
    if value < 0 and not allow_negative:
        raise InvalidInput(_("amount must not be negative: {text!r}").format(text=str(text)[:40]))
    # "-0" is zero: never store or show a negative zero.
    return abs(value).quantize(QEPIK) if value == 0 else value.quantize(QEPIK)


def to_qepik(amount: Decimal) -> int:
    qepik = amount * 100
    if qepik != qepik.to_integral_value():
        raise ValueError(f"not a whole number of qəpik: {amount}")
    return int(qepik)


def from_qepik(qepik: int) -> Decimal:
    return (Decimal(qepik) / 100).quantize(QEPIK)


def money_json(amount: Decimal) -> str:
    """Money in JSON: a string with two decimals, e.g. ``"12.50"``."""
    return f"{amount.quantize(QEPIK):f}"


def money_human(amount: Decimal) -> str:
    """Money for people: ``1.234,50 AZN`` (decimal comma, dot for thousands)."""
    text = f"{amount.quantize(QEPIK):,.2f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".") + " AZN"
